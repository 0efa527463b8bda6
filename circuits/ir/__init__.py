"""The circuit description: gates, parameters, operations, circuits, observables, serialization."""
