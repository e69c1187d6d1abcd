# Runs one workflow job written in R: connects to Spark with sparklyr, set up like the runner's
# own session, sources the job's script and calls its main(args, spark).
#
#   Rscript run_r_job.R SCRIPT SPARK_HOME MASTER CONF_FILE [name=value ...]
#
# CONF_FILE holds the runner's Spark settings, one `key=value` per line (values may hold spaces).
# Exit status 3: sparklyr is not installed.

argv <- commandArgs(trailingOnly = TRUE)
if (!requireNamespace("sparklyr", quietly = TRUE)) {
  message("sparklyr is not installed")
  quit(status = 3)
}
script <- argv[[1]]
spark_home <- argv[[2]]
master <- argv[[3]]
key_of <- function(pairs) sub("=.*$", "", pairs)
value_of <- function(pairs) sub("^[^=]*=", "", pairs)

settings <- readLines(argv[[4]])
config <- sparklyr::spark_config()
for (i in seq_along(settings)) config[[key_of(settings[i])]] <- value_of(settings[i])
# What must be given when the driver JVM starts goes to spark-submit itself.
shell_options <- c(
  "driver-class-path" = "spark.driver.extraClassPath",
  "driver-java-options" = "spark.driver.extraJavaOptions",
  "driver-memory" = "spark.driver.memory"
)
for (option in names(shell_options)) {
  value <- config[[shell_options[[option]]]]
  if (!is.null(value)) config[[paste0("sparklyr.shell.", option)]] <- value
}

pairs <- argv[-(1:4)]
args <- setNames(as.list(value_of(pairs)), key_of(pairs))
spark <- sparklyr::spark_connect(master = master, spark_home = spark_home, config = config)
on.exit(sparklyr::spark_disconnect(spark))
source(script)
invisible(main(args, spark))
