"""Weight spectra: data-free evidence of over- and under-training from a checkpoint alone.

Heavy-tailed self-regularisation (Martin & Mahoney) as WeightWatcher measures it, computed from
the model file without the framework: ``analyze_model(path, format, device=..., progress=...)``
returns one ``LayerSpectrum`` per layer and a ``SpectralSummary``. ``python -m
overfitlint.spectra MODEL`` prints them. Only numpy is imported (torch only for ``device="cuda"``
or ``engine="torch"``).
"""

from overfitlint.spectra.analysis import (
    LayerSpectrum,
    SpectralSummary,
    analyze_model,
    analyze_weights,
    measure_layer,
)

__all__ = ["LayerSpectrum", "SpectralSummary", "analyze_model", "analyze_weights", "measure_layer"]
