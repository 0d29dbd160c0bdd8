"""Plan and apply: dry runs of both engines merged into one report, change scoping from
git, applies with a lock and an apply record.

    model.py           what a plan is (changes per host) and the exit codes
    pyinfra_events.py  pyinfra's --json plan/results and --diff log -> changes
    ansible_events.py  the regionhus_plan callback's JSON lines -> changes
    scope.py           changed files (git) -> hosts to plan, with reasons (pure)
    repo.py            what scope.py needs to know about the repository
    report.py          a plan as text, Markdown or JSON
    run.py             running both engines for a plan or an apply
    lock.py            the apply lock (who holds which hosts)
    apply_record.py    what an apply leaves: its record and the NetBox journal hook
    gitinfo.py         commit, dirty tree, changed files
    cli.py             `regionhus plan` and `regionhus apply`
"""
