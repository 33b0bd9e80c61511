"""Untrusted files read as data, shared by the model loaders and the weight spectra.

- ``archive``: zip archives opened defensively (member names, sizes, zip bombs);
- ``torch_pickle``: PyTorch pickles unpickled without running anything from them;
- ``safetensors``: a safetensors header, every entry checked against the file.

Nothing here judges or builds facts: it turns bytes into checked records or refuses them with
one line. It imports no other part of overfitlint but ``errors``.
"""

MAX_TENSOR_ELEMENTS = 1 << 40
"""More elements than any real tensor: a shape beyond it is a corrupt or hostile header."""
