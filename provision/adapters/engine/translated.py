"""`translated`: the one place an engine method's SDK and transport errors become dockerhello's."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from provision.adapters.engine.errors import translate
from provision.engine import EngineTarget
from provision.errors import DockerHelloError

P = ParamSpec("P")
T = TypeVar("T")


class Targeted(Protocol):
    target: EngineTarget


S = TypeVar("S", bound=Targeted)


def translated(method: Callable[Concatenate[S, P], T]) -> Callable[Concatenate[S, P], T]:
    """Whatever the SDK or its transport raises in `method`, as dockerhello's error; the
    method itself handles what it expects (a missing object, a name taken)."""
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def generator(self: S, *args: P.args, **kwargs: P.kwargs) -> Any:
            try:
                yield from method(self, *args, **kwargs)
            except DockerHelloError:
                raise
            except Exception as exc:
                raise translate(self.target, exc) from exc

        return generator  # type: ignore[return-value]  # the same signature, as a generator

    @functools.wraps(method)
    def call(self: S, *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(self, *args, **kwargs)
        except DockerHelloError:
            raise
        except Exception as exc:
            raise translate(self.target, exc) from exc

    return call  # type: ignore[return-value]  # functools.wraps' type hides the ParamSpec
