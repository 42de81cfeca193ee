"""Compatibility shim, copied into AIC's training venv by setup_venv.sh (never onto the system).

The faster PyTorch wheel is installed with --no-deps into a venv that sees Debian's packages;
it imports a few names from typing_extensions that Debian bookworm's 4.4 lacks. This module
loads Debian's typing_extensions and adds those names with the same runtime behaviour that
torch relies on at import time (no static typing semantics are needed there).
"""
import importlib.util as _util
import typing as _typing

_SYSTEM = "/usr/lib/python3/dist-packages/typing_extensions.py"
_spec = _util.spec_from_file_location("_typing_extensions_debian", _SYSTEM)
_debian = _util.module_from_spec(_spec)
_spec.loader.exec_module(_debian)
globals().update({k: v for k, v in vars(_debian).items() if not k.startswith("__")})

if not hasattr(_debian, "deprecated"):
    class deprecated:  # noqa: N801 (the name torch imports)
        """PEP 702's decorator: marks the object; no warning is raised in this shim."""

        def __init__(self, message, *, category=DeprecationWarning, stacklevel=1):
            self.message, self.category, self.stacklevel = message, category, stacklevel

        def __call__(self, arg):
            arg.__deprecated__ = self.message
            return arg

if not hasattr(_debian, "TypeIs"):
    TypeIs = _typing.TypeGuard

if not hasattr(_debian, "TypeAliasType"):
    def TypeAliasType(name, value, *, type_params=()):  # noqa: N802
        return value

if not hasattr(_debian, "Buffer"):
    @_debian.runtime_checkable
    class Buffer(_debian.Protocol):
        def __buffer__(self, flags, /):
            ...
