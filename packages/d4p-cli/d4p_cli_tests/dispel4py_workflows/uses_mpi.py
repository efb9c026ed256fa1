# mypy: ignore-errors
# ruff: noqa
# Fixture: imports a dispel4py module the compatibility layer does not provide.
import dispel4py.new.mpi_process
