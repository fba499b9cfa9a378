"""Documents rendered from the contracts: the AsyncAPI 3 document and the JSON Schema files.

They live apart from ``redprop.contracts`` so the contracts import nothing but pydantic and the errors.
"""
