"""Level 3: one config class per architecture. Importing this registers them."""

from . import encoders  # noqa: F401
