# RFC 9457 problem+json answers as R errors.

# The condition of a 4xx/5xx answer: class gonogo_problem (and error, condition), with the parsed
# problem attached. Its message names every errors[].field with its reason, one per line.
problem_condition <- function(resp, method, path) {
  status <- httr2::resp_status(resp)
  text <- tryCatch(httr2::resp_body_string(resp, encoding = "UTF-8"), error = function(e) "")
  problem <- if (is_json(resp)) tryCatch(parse_json_text(text), error = function(e) NULL) else NULL
  if (!is.list(problem)) {
    detail <- if (nzchar(text)) substr(text, 1L, 500L) else httr2::resp_status_desc(resp)
    problem <- list(type = "about:blank", title = httr2::resp_status_desc(resp), status = status,
                    detail = detail)
  }
  retry_after <- retry_after_seconds(resp)
  gonogo_problem(problem, status = status, request = paste(method, path), retry_after = retry_after)
}

# A gonogo_problem condition from a problem document (also a failed job's `error`).
gonogo_problem <- function(problem, status = NULL, request = NULL, retry_after = NA_real_) {
  status <- as.integer(if (!is.null(problem$status)) problem$status else if (is.null(status)) NA else status)
  errors <- problem$errors
  fields <- vapply(errors %||% list(), function(e) as.character(e$field %||% ""), "")
  reasons <- vapply(errors %||% list(), function(e) as.character(e$reason %||% ""), "")
  title <- problem$title %||% "Error"
  head <- sprintf("%s%s %s", if (is.null(request)) "" else paste0(request, ": "), status, title)
  lines <- if (length(fields)) {
    paste0("  ", fields, ": ", reasons)
  } else if (!is.null(problem$detail)) {
    paste0("  ", problem$detail)
  }
  if (!is.null(problem$suggestion)) {
    lines <- c(lines, paste0("  suggestion: ", problem$suggestion))
  }
  if (!is.null(problem$type) && !identical(problem$type, "about:blank")) {
    head <- paste0(head, " (", problem$type, ")")
  }
  structure(class = c("gonogo_problem", "error", "condition"), list(
    message = paste(c(head, lines), collapse = "\n"), call = NULL,
    status = status, type = problem$type %||% "about:blank", title = title, detail = problem$detail,
    errors = data.frame(field = fields, reason = reasons, stringsAsFactors = FALSE),
    retry_after = retry_after, problem = problem))
}

`%||%` <- function(a, b) if (is.null(a)) b else a
