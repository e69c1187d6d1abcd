# Runs the R jobs of one workflow run in one sparklyr connection: connecting starts a Spark
# driver JVM, which takes longer than most jobs, so a daily or backfill run pays for it once.
#
#   Rscript run_r_job.R SPARK_HOME MASTER CONF_FILE APP_NAME GATEWAY_PORT
#
# CONF_FILE holds the runner's Spark settings as a Java properties file, one `key=value` per line.
# Once connected it prints "sparkplate-r-job: connected". Then each line on stdin is one job, as
# JSON: {"script": path, "args": {name: value}, "branch": the Iceberg branch to write to, or ""}.
# After each job one line says how it went: "sparkplate-r-job: ok" or "sparkplate-r-job: failed"
# (its error is printed before).
# The connection closes at the end of stdin. Exit status 3: sparklyr is not installed.

# The start of every status line (r.py reads them by it).
status_prefix <- "sparkplate-r-job:"

connect <- function(spark_home, master, conf_file, app_name, gateway_port) {
  settings <- readLines(conf_file)
  key_of <- function(pairs) sub("=.*$", "", pairs)
  value_of <- function(pairs) sub("^[^=]*=", "", pairs)
  memory <- value_of(settings[key_of(settings) == "spark.driver.memory"])
  # Only the runner's settings: spark_config() would add sparklyr's defaults from a config.yml.
  # spark-submit reads them from the file (--properties-file), so what the driver JVM needs when
  # it starts (classpath, Java options, jars) is there from the start, and no secret among them
  # shows on a command line.
  config <- list(
    "sparklyr.shell.properties-file" = shQuote(conf_file),
    sparklyr.connect.enablehivesupport = FALSE, # as the runner: no Hive metastore
    sparklyr.gateway.port = as.integer(gateway_port), # not the fixed 8880 another R may hold
    sparklyr.web.spark = "", # no Spark UI to look up
    sparklyr.connect.timeout = 300 # not 60 s: a busy machine may take longer to start the JVM
  )
  if (length(memory) == 1) config[["sparklyr.shell.driver-memory"]] <- memory
  sparklyr::spark_connect(
    master = master, spark_home = spark_home, app_name = app_name, config = config
  )
}

run_one <- function(job, spark) {
  job_script <- new.env()
  sys.source(job$script, envir = job_script)
  if (!is.function(job_script$main)) {
    stop(job$script, " defines no main(args, spark): add one; the workflow calls it")
  }
  # The branch is a session setting, so each job writes where the runner says, or to main.
  if (nzchar(job$branch)) {
    sparklyr::spark_session_config(spark, "spark.wap.branch", job$branch)
  } else {
    DBI::dbExecute(spark, "RESET spark.wap.branch")
  }
  invisible(job_script$main(as.list(job$args), spark))
}

serve <- function(argv) {
  if (!requireNamespace("sparklyr", quietly = TRUE)) {
    message("sparklyr is not installed")
    quit(status = 3)
  }
  spark <- connect(argv[[1]], argv[[2]], argv[[3]], argv[[4]], argv[[5]])
  on.exit(sparklyr::spark_disconnect(spark))
  cat(status_prefix, " connected\n", sep = "")
  flush(stdout())
  input <- file("stdin", open = "r")
  while (length(line <- readLines(input, n = 1)) == 1) {
    job <- jsonlite::fromJSON(line, simplifyVector = FALSE)
    ok <- tryCatch(
      {
        run_one(job, spark)
        TRUE
      },
      error = function(err) {
        message("Error: ", conditionMessage(err))
        FALSE
      }
    )
    cat(status_prefix, " ", if (ok) "ok" else "failed", "\n", sep = "")
    flush(stdout())
  }
}

serve(commandArgs(trailingOnly = TRUE))
