# Golden ssGSEA scores from R GSVA (Debian r-bioc-gsva 1.46.0) for tests/scoring/test_golden.py.
# Inputs: tests/data/scoring/{ties_input.tsv, ties_sets.gmt, library_sets.gmt} (scripts/scoring_golden_inputs.py)
# and ../shared/reference/epic/racle2017_melanoma_LN_expression_TPM.tsv (log2(TPM + 1) is scored).
# Outputs: tests/data/scoring/gsva_<data>_<norm|raw>.tsv, samples in rows, sets in columns, 17 significant digits.
# Run from the project root:  Rscript scripts/gsva_golden.R
suppressPackageStartupMessages(library(GSVA))
out <- "tests/data/scoring"
read_gmt <- function(path) {
  l <- strsplit(readLines(path), "\t", fixed = TRUE)
  sets <- lapply(l, function(z) z[-(1:2)])
  names(sets) <- vapply(l, `[`, "", 1)
  sets
}
write_scores <- function(es, path) {
  m <- t(es)
  txt <- matrix(sprintf("%.17g", m), nrow = nrow(m))
  df <- data.frame(sample = rownames(m), txt, check.names = FALSE)
  colnames(df) <- c("sample", colnames(m))
  write.table(df, path, sep = "\t", quote = FALSE, row.names = FALSE)
}
run <- function(X, sets, tag) {
  for (norm in c(TRUE, FALSE)) {
    es <- gsva(X, sets, method = "ssgsea", tau = 0.25, ssgsea.norm = norm, min.sz = 1, verbose = FALSE)
    write_scores(es, file.path(out, sprintf("gsva_%s_%s.tsv", tag, if (norm) "norm" else "raw")))
  }
}
X <- as.matrix(read.delim(file.path(out, "ties_input.tsv"), row.names = 1, check.names = FALSE))
run(X, read_gmt(file.path(out, "ties_sets.gmt")), "ties")
tpm <- as.matrix(read.delim("../shared/reference/epic/racle2017_melanoma_LN_expression_TPM.tsv",
                            row.names = 1, check.names = FALSE))
run(log2(tpm + 1), read_gmt(file.path(out, "library_sets.gmt")), "racle")
cat("GSVA", as.character(packageVersion("GSVA")), "on", R.version.string, "\n")
