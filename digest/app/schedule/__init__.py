"""`digest schedule`: run the fetch and weekly jobs on their cron schedules, unattended.

The only package that imports APScheduler (3.11.x; 4.x is a pre-release), apart from
the crontab parser `digest.cron`. Its modules:

* `jobs`: the jobs as the config defines them (`job_specs`), `digest schedule --list`,
  next run times for `digest status`. Imports no scheduler machinery.
* `catch_up`: pure planning of the jobs missed while the scheduler was down.
* `wrappers`: the functions the scheduler calls (`fetch_job`, `weekly_job`): load the
  config, call `digest.app.operations`, log one line per run.
* `service`: `SchedulerService` (lock, catch up, run, stop on signals), `run_scheduler`.

Nothing is re-exported here, so that `digest status` can read next run times from
`jobs` without loading the scheduler.

Design choices:

* **Jobs are rebuilt from sources.yaml at every start** (an in-memory job store), not
  kept in APScheduler's SQLAlchemy job store. The config is the source of truth for
  what runs when: a schedule edited in sources.yaml takes effect on restart with nothing
  stale left behind in a table. The persistent stores pickle the callables and their
  arguments, which ties stored rows to code paths and leaks whatever the arguments
  hold (a database URL with a password). What a persistent store would give us,
  running jobs missed during downtime, is done explicitly instead: at start
  `catch_up.plan_catch_up` reads our own run log (FetchRun, Digest) and runs each
  missed job once (see there).
* **One scheduler per database**: `digest.store.locks` takes a lock before starting
  (a PostgreSQL advisory lock, or a heartbeated row on SQLite); a second scheduler
  refuses to start and names the holder.
* **One job at a time** (a single worker thread): fetches and the weekly run share
  the database and the per-host rate limits, and SQLite has one writer. A queued job
  still runs if it starts within `service.MISFIRE_GRACE_SECONDS` of its time.
* **Jobs call `digest.app.operations`**, the same functions as the CLI, through
  module-level functions taking only strings (`fetch_job`, `weekly_job`), which load
  the config and open the database themselves; so query edits in sources.yaml apply at
  the next run, while schedule edits need a restart.
* **Crontab semantics**: see `digest.cron` (weekday numbering translated; a line
  restricting both day of month and day of week is refused).
* **Stopping**: SIGTERM or SIGINT stops taking new jobs and waits for the running one
  to finish (each source commits once, so nothing is half-written); jobs still queued
  are skipped. A second signal exits at once (the database rolls back the open
  transaction; that FetchRun row stays `running`).
"""
