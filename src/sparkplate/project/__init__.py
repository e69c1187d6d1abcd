"""`sparkplate project`: a repository of pipelines, its assets and their deployment.

One module per part: repo (what a repository holds, its settings and git facts), build (assets
into files), registry (where built assets are kept, by id), render (asset references into
paths), bundle (a deployed workflow's files, switched atomically), airflow (its DAG file),
deploy (the command that ties them together) and commands (list, render, test, rollback, init).
"""
