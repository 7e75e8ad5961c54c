"""The procedures (plan, then apply) and the engine that runs them resumably.

- :mod:`.registry`: every procedure as a :class:`~aks_windows_ops.runbooks.registry.Procedure` object (id,
  planners, step actions, what its steps need), in one table.
- :mod:`.procedures`: the one public ``apply(plan, context, ...)`` and ``resume(plan_id, clients, ...)``.
- :mod:`.context`: the typed :class:`~aks_windows_ops.runbooks.context.ClusterContext` a plan's steps run with.
- :mod:`.runner`, :mod:`.checkpoints`, :mod:`.leases`, :mod:`.events`: the engine (checkpointed, leased,
  within a time budget) under ``apply``.
- one module per procedure (:mod:`.patch`, :mod:`.password`, :mod:`.ahub`, :mod:`.pools`, :mod:`.migrate`):
  its planners and its step actions. Procedure modules never import each other: :mod:`.steps` holds the Azure
  actions they share, :mod:`.pool_steps` the pool create/delete steps (add a pool, migrate) and
  :mod:`.windows_profile` the Windows profile PUT (password, Hybrid Benefit).
"""
