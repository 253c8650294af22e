"""Level 3: one config class per architecture. Importing this registers them."""

from . import encoders  # noqa: F401
from . import images  # noqa: F401
from . import speech  # noqa: F401
from . import multimodal  # noqa: F401
from . import decoders  # noqa: F401
from . import seq2seq  # noqa: F401
