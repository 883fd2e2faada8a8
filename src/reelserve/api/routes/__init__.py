"""One router per resource, in one style.

Handlers are plain `def`s: FastAPI runs them in its thread pool, so a store call blocks no other
request. Only a handler that must await is `async` (a submit reads its body; the event stream makes
its shutdown event on the loop). Handlers take what they need as typed dependencies (`ServicesDep`,
`KeyDep`, `OwnedJobDep`; media.py's router alone is built around the LocalMediaStorage it serves,
a type narrower than `Services.storage`), return the wire body as a dict that `response_model`
checks, and set headers on an injected `Response`. Routes never import each other: what two share
lives in api/ (deps.py, owned.py, liveness.py), and an import-linter contract keeps it so.
"""
