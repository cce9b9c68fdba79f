"""The Docker engine, through the Docker SDK: this package is the only code that imports it.

`connect` makes a client for a target, `Engine` wraps one with a method per operation
dockerhello uses, and `translate` gives every SDK and transport error its meaning.
"""

from provision.adapters.engine.client import Engine
from provision.adapters.engine.connection import ClientFactory, connect
from provision.adapters.engine.errors import is_engine_error, translate
from provision.adapters.engine.inside import HeldExec

__all__ = ["ClientFactory", "Engine", "HeldExec", "connect", "is_engine_error", "translate"]
