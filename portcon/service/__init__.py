"""The position-sizing service: portcon over HTTP (an optional extra, ``portcon[service]``).

Modules, one concept each: ``settings`` (environment), ``schemas`` and ``sizing_schemas``
(request and response models, reusing :class:`portcon.Limits`), ``sizing`` (one trading
decision as a portcon program), ``storage`` (tables and the store), ``migrations`` (Alembic),
``keys`` (API keys), ``metrics`` (Prometheus), ``failures`` (errors → HTTP statuses),
``routes`` and ``app`` (the FastAPI application).

Nothing here is imported by ``import portcon``.
"""
