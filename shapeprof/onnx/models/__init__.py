"""Level 3: the architectures table (:mod:`.architectures`) and classes where behaviour differs.

The family modules (``encoders``, ``decoders``, ...) give each row's class by its name.
"""
