# Prints the Spark SQL that dbplyr renders for the transform: the SQL sparklyr, which translates
# with dbplyr, sends to Spark (here with dbplyr's simulated Spark connection, no sparklyr needed).
#   Rscript tests/render_sql.R DATE TOP_N [TARGET_TABLE]
# It reads the source table as `source_rows`. With TARGET_TABLE it prints main()'s whole
# INSERT statement, else the query. dbplyr's Spark SQL simulation is used where the
# installed dbplyr has it, Hive's otherwise.

args <- commandArgs(trailingOnly = TRUE)
if (!length(args) %in% 2:3) stop("usage: Rscript tests/render_sql.R DATE TOP_N [TARGET_TABLE]")
source(file.path("src", "sparklyr_write.R"))

simulate <- function(dialect) getExportedValue("dbplyr", paste0("simulate_", dialect))()
dialect <- if (exists("simulate_spark_sql", asNamespace("dbplyr"))) "spark_sql" else "hive"
# Spark SQL quotes names with backticks (double quotes make strings): use a dialect that does.
if (dbplyr::escape(dbplyr::ident("x"), con = simulate(dialect)) != "`x`") dialect <- "hive"
connection <- simulate(dialect)
source_rows <- dbplyr::lazy_frame(
  title_id = 1L, country_code = "", view_hours = 0, playback_date = Sys.Date(),
  con = connection, .name = "source_rows"
)
message("dbplyr ", packageVersion("dbplyr"), ", ", dialect, " SQL")
result <- top_titles(source_rows, args[1], as.integer(args[2]))
sql <- if (length(args) == 3) {
  replace_date_sql(result, args[3], args[1])
} else {
  dbplyr::sql_render(result)
}
cat(sql, "\n", sep = "")
