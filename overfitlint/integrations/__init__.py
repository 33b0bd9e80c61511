"""Framework callbacks that lint a run while it trains, each built on ``overfitlint.live``:

- ``overfitlint.integrations.keras.OverfitLintCallback`` (a ``keras.callbacks.Callback``)
- ``overfitlint.integrations.lightning.OverfitLintCallback`` (a ``lightning.pytorch.Callback``)
- ``overfitlint.integrations.transformers.OverfitLintCallback`` (a ``transformers.TrainerCallback``)

Each module imports its framework; importing this package imports none.
"""
