"""The registry service: the city's governance map (see service.py for its entrypoints).

  service.py     entrypoints (the contract is redprop.contracts.registry)
  models.py      tables
  resolver.py    the in-memory map behind `resolve`
  queries.py     the other reads
  writer.py      validating and writing batches of records
  importer.py    CSV/JSON import with a validation report
  locators.py    extension point `registry.locator`
  sample.py      the sample district (Zhuanqiao and Xinshiqu)
  demo.py, cli.py
"""
