"""Security machinery shared by the service and the CLI (C5): the server key
and what is derived from it (:mod:`.keys`), encryption of secrets at rest
(:mod:`.secretbox`), the audit log's HMAC chain (:mod:`.audit_chain`), CORS
(:mod:`.cors`) and TLS settings (:mod:`.tls`)."""
