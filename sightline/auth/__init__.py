"""Authentication and access control (C2, C5).

- :mod:`~sightline.auth.passwords` — argon2id hashes and the password policy
- :mod:`~sightline.auth.tokens` — login sessions: opaque bearer tokens, stored hashed
- :mod:`~sightline.auth.apikeys` — applications' API keys, stored hashed
- :mod:`~sightline.auth.throttle` — login throttling per username + client address
- :mod:`~sightline.auth.users` — user records, the last-admin guard, the first admin
- :mod:`~sightline.auth.service` — ``authenticate(conn, ctx)``, ``install_auth(app)``, login
- :mod:`~sightline.auth.cli` — ``sightline users ...``

This package's ``__init__`` imports nothing on purpose: ``sightline.storage.models``
imports :mod:`sightline.auth.models` to register the ``sessions`` table, and the
``sightline`` command imports :mod:`sightline.auth.cli` on every start, so
importing the package must not pull in the API, argon2 or the storage package.
"""

ADMIN_USER_ENV = "SIGHTLINE_ADMIN_USER"
ADMIN_PASSWORD_ENV = "SIGHTLINE_ADMIN_PASSWORD"
