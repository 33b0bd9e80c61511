"""Live monitoring: the rules that judge a finished log, run while the training runs.

``Monitor`` serves any loop; ``overfitlint.integrations`` holds the Keras, Lightning and
Hugging Face callbacks built on it.
"""

from overfitlint.live.monitor import Monitor, Status

__all__ = ["Monitor", "Status"]
