"""Residents' personal data (PIPL): encrypted at rest, masked in replies, kept out of logs, every access logged.

One concern per module:
  settings    the ``privacy.*`` settings (key ring, key file)
  keys        the key ring: from settings, a Kubernetes Secret file, or a generated local file (laptop)
  cipher      AES-GCM bound to table, row and field; keyed hashes for equality lookups
  masking     ``139****0001``, ``1101**********1234``; contact numbers found in free text
  redaction   the log filter that masks phone and ID-card numbers in every line above DEBUG
  access      the access log: who read or changed whose personal data, when and why
  files       files only their owner may read (0600)
"""

# Import the modules themselves (redprop.privacy.cipher...): the logging set-up imports the filter early,
# before the database layer may be imported.
