"""Request and response models of the REST API, one module per resource.

Requests are ``extra="forbid"`` (:class:`~sightline.api.schemas.common.RequestModel`):
a misspelt key is a 422 naming it, never a silently ignored setting.
Responses never carry secrets (camera URLs are redacted).
"""
