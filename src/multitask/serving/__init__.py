"""The serving room: the BentoML service and what it needs, and the BentoML store helpers.

`service` is thin (the model, its metrics, the endpoints); `contract` is the request model and
the OpenAPI document; `guard` the ASGI middleware enforcing it; `batching` the continuous batcher;
`packaged` reads what the package stage stored with the model; `bento_store` stores models and
builds, exports and imports bentos (used by the package stage, not by the service).
May import the bottom layer and `model`; never training, tracking or data (the image stays small).
"""
