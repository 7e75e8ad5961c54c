"""The Azure adapter: the only package that imports the Azure SDKs (design notes, "Layers").

Modules: ``clients`` (lazy client bundle), ``facts`` (snapshot reader), ``errors`` (translation), ``retry``
(budget-aware retries), ``lro`` (resumable long-running operations), ``actions`` (the writes).
"""
