# Reads of the trial registry (they need the client's bearer token). Writes (trials, data cuts,
# looks, amendments) go through gonogo_request(); docs/REGISTRY.md describes them.

#' The trial registry: trials, looks and a look's report
#'
#' Every registry route needs a bearer token whose role and trials fit (`401`/`403`
#' otherwise, as a `gonogo_problem`). `gonogo_trials()` lists the trials the token may see
#' (`GET /v1/trials`); `gonogo_trial()` gives one with its protocol; `gonogo_looks()` the
#' stored looks of a trial and `gonogo_look()` one of them, whole;
#' `gonogo_download_report()` saves the report of a look (the DMC's closed view or the
#' sponsor's open one) as HTML or PDF. Other registry routes (data cuts, amendments,
#' creating looks) are reached with [gonogo_request()].
#'
#' @param client a [gonogo_client()] made with a `token`.
#' @param trial the trial's id, e.g. `"sarc031"`.
#' @param look the look's number (1, 2, ...).
#' @param path the file to write; when it is an existing directory, the file is written
#'   there under the service's name for it (`<trial>-look-<n>-<view>.<html|pdf>`).
#' @param format `"html"` (self-contained) or `"pdf"`.
#' @param view `NULL` (the token's default: closed for a statistician or the DMC, open for
#'   a sponsor), `"closed"` or `"open"`.
#' @param overwrite `FALSE`: refuse to replace an existing file.
#' @return parsed JSON as R lists; `gonogo_download_report()`: the path written, invisibly.
#' @export
gonogo_trials <- function(client) {
  require_token(client, "gonogo_trials")
  gonogo_request(client, "GET", "/v1/trials")
}

#' @rdname gonogo_trials
#' @export
gonogo_trial <- function(client, trial) {
  require_token(client, "gonogo_trial")
  gonogo_request(client, "GET", paste0("/v1/trials/", segment(trial, "trial")))
}

#' @rdname gonogo_trials
#' @export
gonogo_looks <- function(client, trial) {
  require_token(client, "gonogo_looks")
  gonogo_request(client, "GET", paste0("/v1/trials/", segment(trial, "trial"), "/looks"))
}

#' @rdname gonogo_trials
#' @export
gonogo_look <- function(client, trial, look) {
  require_token(client, "gonogo_look")
  gonogo_request(client, "GET", paste0("/v1/trials/", segment(trial, "trial"), "/looks/", segment(look, "look")))
}

#' @rdname gonogo_trials
#' @export
gonogo_download_report <- function(client, trial, look, path, format = c("html", "pdf"), view = NULL,
                                   overwrite = FALSE) {
  require_token(client, "gonogo_download_report")
  format <- match.arg(format)
  if (!is.null(view)) {
    view <- match.arg(view, c("closed", "open"))
  }
  if (!is.character(path) || length(path) != 1L || is.na(path)) {
    stop("gonogo_download_report: path must be one file name or directory", call. = FALSE)
  }
  accept <- if (format == "pdf") "application/pdf" else "text/html"
  answer <- call_api(client, "GET",
                     paste0("/v1/trials/", segment(trial, "trial"), "/looks/", segment(look, "look"), "/report"),
                     query = compact(view = view), accept = accept, parse = FALSE)
  if (dir.exists(path)) {
    disposition <- answer$headers[["content-disposition"]] %||% ""
    name <- sub('.*filename="?([^";]+)"?.*', "\\1", disposition)
    if (identical(name, disposition) || !nzchar(name)) {
      name <- sprintf("%s-look-%s.%s", trial, look, format)
    }
    path <- file.path(path, basename(name))
  }
  if (file.exists(path) && !overwrite) {
    stop(sprintf("gonogo_download_report: %s exists (overwrite = TRUE to replace it)", path), call. = FALSE)
  }
  writeBin(answer$body, path)
  invisible(path)
}
