"""``dispel4py.new.monitoring`` for d4p: time the ``process`` calls of a PE.

``ProcessTimingPE(pe)`` is ``pe`` with timing: the same behaviour, ports,
name and state, an instance of ``type(pe)`` too, and when each instance ends
it logs (``self.log``, so on stderr as ``<id> (rank <r>): ...``)::

    Average processing time: 0.0012 s (10 process calls, 0.012 s in total)

The time is the wall time of each ``process`` call; a call that writes many
items may include the time PEs hosted in the same process spent on what it
wrote. ``RunResult.metrics[pe_id].busy_seconds`` is d4p's own measure (every
PE, without that overlap, no wrapping needed).

Kept from dispel4py: ``Timer``, ``MonitoringWrapper`` (the wrapping, for
wrappers of your own) and ``ProcessTimingPE``. Left out: ``ReadTimingWrapper``,
which timed the reads of dispel4py's per-process wrapper loop; d4p's engine
has no such loop. Fixed: dispel4py's wrapper replaced the PE's own
``_postprocess`` (a timed aggregate never wrote its result), divided by zero
on an instance that received nothing (here it logs nothing), and built a
class that could not be pickled (fork only); here the combined class is
rebuilt by reference where a PE is unpickled, so every mapping and start
method runs it.
"""

from __future__ import annotations

import sys
import time
from time import perf_counter
from typing import Any, ClassVar

from ..model.pe import GenericPE

__all__ = ["MonitoringWrapper", "ProcessTimingPE", "Timer"]


class Timer:
    """Context manager timing its block: ``start``/``end`` are timestamps
    (``time.time()``), ``secs`` the elapsed seconds (``perf_counter``).
    ``verbose``: also print the elapsed time on stderr."""

    def __init__(self, verbose: bool = False) -> None:
        self.verbose = verbose
        self.start = 0.0
        self.end = 0.0
        self.secs = 0.0
        self._started = 0.0

    def __enter__(self) -> Timer:
        self.start = time.time()
        self._started = perf_counter()
        return self

    def __exit__(self, *args: object) -> None:
        self.secs = perf_counter() - self._started
        self.end = time.time()
        if self.verbose:
            print(f"elapsed time: {self.secs * 1000:.3f} ms", file=sys.stderr)


# (wrapper class, wrapped class) -> their combination; one class per pair,
# so isinstance checks and pickling agree within a process.
_COMBINED: dict[tuple[type, type], type] = {}


def _combined_class(wrapper: type[MonitoringWrapper], wrapped: type[GenericPE]) -> type:
    key = (wrapper, wrapped)
    combined = _COMBINED.get(key)
    if combined is None:
        combined = type(
            wrapped.__name__,
            (wrapper, wrapped),
            {
                "_d4p_wrapper": wrapper,
                "_d4p_wrapped": wrapped,
                # The wrapped class's module, so that a payload adds the
                # directory it is imported from; pickling the class itself
                # by that name fails loudly (another object has it).
                "__module__": wrapped.__module__,
                "__qualname__": wrapped.__qualname__,
            },
        )
        _COMBINED[key] = combined
    return combined


def _rebuild(
    wrapper: type[MonitoringWrapper], wrapped: type[GenericPE], state: dict[str, Any]
) -> GenericPE:
    """Unpickle a wrapped PE: recreate the combined class, then the state."""
    pe: GenericPE = object.__new__(_combined_class(wrapper, wrapped))
    pe.__setstate__(state)
    return pe


class _WrappedView:
    """``self.baseObject``: the wrapped class's attributes, bound to the wrapper."""

    __slots__ = ("_owner", "_view")

    def __init__(self, owner: MonitoringWrapper) -> None:
        mro = type(owner).__mro__
        wrapped = type(owner)._d4p_wrapped
        start = mro[mro.index(wrapped) - 1] if wrapped in mro else type(owner)
        self._owner = owner
        self._view = super(start, owner)

    def __getattr__(self, name: str) -> Any:
        try:
            return getattr(self._view, name)
        except AttributeError:
            return getattr(self._owner, name)


class MonitoringWrapper(GenericPE):
    """Wraps a PE: ``Wrapper(pe)`` is an instance of a class deriving from
    both ``Wrapper`` and ``type(pe)``, with a copy of ``pe``'s attributes.

    A wrapper overrides methods and reaches the PE's own through ``super()``
    or, as in dispel4py, ``self.baseObject.process(inputs)``.
    """

    _d4p_wrapper: ClassVar[type[MonitoringWrapper] | None] = None
    _d4p_wrapped: ClassVar[type[GenericPE] | None] = None

    def __new__(cls, baseObject: GenericPE) -> MonitoringWrapper:  # noqa: N803 - dispel4py name
        wrapper = cls._d4p_wrapper or cls
        if not isinstance(baseObject, GenericPE):
            raise TypeError(
                f"{wrapper.__name__} wraps a PE (a GenericPE instance), not {baseObject!r}"
            )
        if isinstance(baseObject, wrapper):
            raise TypeError(f"{baseObject!r} is already wrapped by {wrapper.__name__}")
        instance: MonitoringWrapper = object.__new__(_combined_class(wrapper, type(baseObject)))
        return instance

    def __init__(self, baseObject: GenericPE) -> None:  # noqa: N803 - dispel4py name
        # A copy of the PE's attributes (its port dicts copied too); the
        # wrapped class's __init__ is not run again.
        for key, value in baseObject.__getstate__().items():
            object.__setattr__(self, key, value)

    @property
    def baseObject(self) -> Any:
        """The wrapped PE's methods, bound to this object."""
        return _WrappedView(self)

    def __reduce__(self) -> tuple[Any, ...]:
        cls = type(self)
        return (_rebuild, (cls._d4p_wrapper, cls._d4p_wrapped, self.__getstate__()))


class _Timing:
    """Seconds and calls of one instance, per copy on purpose. One object
    the wrapper keeps for its life: the engine's watch for split state
    (``check_state``) compares the PE's own attribute values, so the timing
    never looks like state of the wrapped PE."""

    def __init__(self) -> None:
        self.total = 0.0
        self.count = 0


class ProcessTimingPE(MonitoringWrapper):
    """A PE whose ``process`` calls are timed; each instance logs the
    average when it ends (nothing if it had no calls). ``times_total`` and
    ``times_count`` are the seconds and the calls so far."""

    def __init__(self, baseObject: GenericPE) -> None:  # noqa: N803 - dispel4py name
        MonitoringWrapper.__init__(self, baseObject)
        self._process_timing = _Timing()

    @property
    def times_total(self) -> float:
        return self._process_timing.total

    @property
    def times_count(self) -> int:
        return self._process_timing.count

    def process(self, inputs: dict[str, Any]) -> dict[str, Any] | None:
        timing = self._process_timing
        started = perf_counter()
        try:
            result: dict[str, Any] | None = super().process(inputs)
            return result
        finally:
            timing.total += perf_counter() - started
            timing.count += 1

    def postprocess(self) -> None:
        super().postprocess()
        timing = self._process_timing
        if timing.count:
            self.log(
                f"Average processing time: {timing.total / timing.count:.6g} s "
                f"({timing.count} process calls, {timing.total:.6g} s in total)"
            )
