# Runs one workflow job written in R: connects to Spark with sparklyr, set up like the runner's
# own session, sources the job's script and calls its main(args, spark).
#
#   Rscript run_r_job.R SCRIPT SPARK_HOME MASTER CONF_FILE [name=value ...]
#
# CONF_FILE holds the runner's Spark settings, one `key=value` per line (values may hold spaces).
# Exit status 3: sparklyr is not installed.

run_job <- function(argv) {
  if (!requireNamespace("sparklyr", quietly = TRUE)) {
    message("sparklyr is not installed")
    quit(status = 3)
  }
  script <- argv[[1]]
  key_of <- function(pairs) sub("=.*$", "", pairs)
  value_of <- function(pairs) sub("^[^=]*=", "", pairs)

  # Every setting goes to spark-submit as --conf, so what the driver JVM needs when it starts
  # (its classpath, Java options, memory, jars) is there from the start. sparklyr passes these
  # to a shell: each is quoted.
  config <- sparklyr::spark_config()
  config[["sparklyr.shell.conf"]] <- shQuote(readLines(argv[[4]]))
  config[["sparklyr.connect.enablehivesupport"]] <- FALSE # as the runner: no Hive metastore

  job_script <- new.env()
  sys.source(script, envir = job_script)
  if (!is.function(job_script$main)) {
    stop(script, " defines no main(args, spark): add one; the workflow calls it")
  }
  pairs <- argv[-(1:4)]
  args <- setNames(as.list(value_of(pairs)), key_of(pairs))
  spark <- sparklyr::spark_connect(master = argv[[3]], spark_home = argv[[2]], config = config)
  on.exit(sparklyr::spark_disconnect(spark))
  invisible(job_script$main(args, spark))
}

run_job(commandArgs(trailingOnly = TRUE))
