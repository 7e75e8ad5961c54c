"""The Azure adapter: the only package that imports the Azure SDKs (DESIGN "Layout").

Modules: ``clients`` (lazy client bundle), ``facts`` (snapshot reader), ``errors`` (translation), ``retry``
(budget-aware retries), ``lro`` (resumable long-running operations), ``actions`` (the writes).
"""
