#' A client of a gonogo service
#'
#' Holds the service's address, the bearer token (needed by the registry's routes) and how
#' requests are sent. Nothing is sent when the client is made.
#'
#' @param base_url the service, e.g. `"http://127.0.0.1:8000"` (no trailing path).
#' @param token a bearer token (`gonogo tokens create ...`), or `NULL` for the calculators
#'   alone. It is sent as `Authorization: Bearer <token>` and never printed.
#' @param timeout seconds to wait for one answer (the service stops a synchronous
#'   computation after `GONOGO_REQUEST_TIMEOUT_S`, 120 s by default).
#' @param max_retries how many times a request answered `503` with a `Retry-After` header
#'   (the service is busy) is sent again after waiting that long; `0` never. POSTs to the
#'   registry (`/v1/trials...`) are sent again only with an `Idempotency-Key` header.
#' @param max_retry_wait the longest wait, in seconds, before a retry (a longer
#'   `Retry-After` is not waited for: the 503 becomes the error).
#' @return an object of class `gonogo_client`.
#' @export
gonogo_client <- function(base_url, token = NULL, timeout = 300, max_retries = 3, max_retry_wait = 60) {
  if (!is.character(base_url) || length(base_url) != 1L || is.na(base_url) ||
      !grepl("^https?://[^/]", base_url)) {
    stop("gonogo_client: base_url must be one http:// or https:// address, e.g. \"http://127.0.0.1:8000\"",
         call. = FALSE)
  }
  if (!is.null(token) && (!is.character(token) || length(token) != 1L || is.na(token) || !nzchar(token))) {
    stop("gonogo_client: token must be NULL or one non-empty string", call. = FALSE)
  }
  number <- function(x, name, lower) {
    if (!is.numeric(x) || length(x) != 1L || is.na(x) || x < lower) {
      stop(sprintf("gonogo_client: %s must be one number >= %g", name, lower), call. = FALSE)
    }
  }
  number(timeout, "timeout", 0)
  number(max_retries, "max_retries", 0)
  number(max_retry_wait, "max_retry_wait", 0)
  structure(list(base_url = sub("/+$", "", base_url), token = token, timeout = timeout,
                 max_retries = as.integer(max_retries), max_retry_wait = max_retry_wait),
            class = "gonogo_client")
}

#' @export
print.gonogo_client <- function(x, ...) {
  cat(sprintf("<gonogo_client %s, %s>\n", x$base_url,
              if (is.null(x$token)) "no token" else "with a bearer token"))
  invisible(x)
}

#' Send any request to the service
#'
#' The function behind every other one, for routes without a function of their own (the
#' registry's writes, tokens, audit). A `4xx`/`5xx` answer becomes an error of class
#' `gonogo_problem`; a `503` with `Retry-After` is retried as the client says.
#'
#' @param client a [gonogo_client()].
#' @param method `"GET"`, `"POST"`, `"PUT"`, `"DELETE"`.
#' @param path the route, e.g. `"/v1/trials"` (path segments already URL-encoded).
#' @param body `NULL` (no body) or a list sent as JSON (see [gonogo_json()]).
#' @param query a named list of query parameters.
#' @param headers a named list of extra headers (e.g. `list("Idempotency-Key" = "...")`).
#' @param full `FALSE`: the parsed JSON body; `TRUE`: a list of `status`, `headers` and
#'   `body` (parsed JSON, or the raw bytes of a non-JSON answer).
#' @return the parsed JSON answer (R lists, `simplifyVector = FALSE`), or the full answer.
#' @export
gonogo_request <- function(client, method, path, body = NULL, query = NULL, headers = NULL, full = FALSE) {
  answer <- call_api(client, method, path, body = body, query = query, headers = headers)
  if (full) answer else answer$body
}

check_client <- function(client) {
  if (!inherits(client, "gonogo_client")) {
    stop("client must be a gonogo_client(...)", call. = FALSE)
  }
}

require_token <- function(client, what) {
  if (is.null(client$token)) {
    stop(sprintf("%s needs a bearer token: make the client with gonogo_client(base_url, token = \"...\")", what),
         call. = FALSE)
  }
}

# One path segment, URL-encoded (a trial id, a job id).
segment <- function(x, name) {
  if (length(x) != 1L || is.na(x) || !nzchar(as.character(x))) {
    stop(sprintf("%s must be one non-empty value", name), call. = FALSE)
  }
  utils::URLencode(as.character(x), reserved = TRUE)
}

# Perform a request: retry a 503 with Retry-After (bounded), turn 4xx/5xx into a gonogo_problem,
# and answer list(status, headers, body, response) with the body parsed when it is JSON.
call_api <- function(client, method, path, body = NULL, query = NULL, headers = NULL,
                     accept = "application/json, application/problem+json", parse = TRUE) {
  check_client(client)
  req <- httr2::request(paste0(client$base_url, path))
  req <- httr2::req_method(req, method)
  req <- httr2::req_user_agent(req, paste0("gonogo-r/", utils::packageVersion("gonogo")))
  req <- httr2::req_timeout(req, client$timeout)
  req <- httr2::req_error(req, is_error = function(resp) FALSE)
  # httr2 retries nothing itself: without this, httr2 0.2.2 sleeps (Retry-After, or a back-off)
  # after any 429 or 503 before answering it, even with a single try. The loop below retries.
  req <- httr2::req_retry(req, max_tries = 1, is_transient = function(resp) FALSE)
  all_headers <- c(list(Accept = accept), headers)
  if (!is.null(client$token)) {
    all_headers$Authorization <- paste("Bearer", client$token)
  }
  req <- do.call(httr2::req_headers, c(list(req), all_headers))
  if (length(query)) {
    req <- do.call(httr2::req_url_query, c(list(req), query))
  }
  if (!is.null(body)) {
    req <- httr2::req_body_raw(req, charToRaw(enc2utf8(gonogo_json(body))), type = "application/json")
  }
  retriable <- method %in% c("GET", "DELETE", "PUT") ||
    !startsWith(path, "/v1/trials") || any(tolower(names(headers)) == "idempotency-key")
  attempt <- 0L
  repeat {
    resp <- tryCatch(httr2::req_perform(req), error = function(e) {
      stop(structure(class = c("gonogo_connection_error", "error", "condition"), list(
        message = sprintf("gonogo: no answer from %s%s: %s", client$base_url, path, conditionMessage(e)),
        call = NULL, parent = e)))
    })
    status <- httr2::resp_status(resp)
    if (status == 503L && retriable && attempt < client$max_retries) {
      wait <- retry_after_seconds(resp)
      if (!is.na(wait) && wait <= client$max_retry_wait) {
        attempt <- attempt + 1L
        Sys.sleep(wait)
        next
      }
    }
    break
  }
  if (status >= 400L) {
    stop(problem_condition(resp, method, path))
  }
  raw <- httr2::resp_body_raw(resp)
  parsed <- if (parse && is_json(resp)) parse_json_text(rawToChar(raw)) else if (length(raw)) raw else NULL
  list(status = status, headers = httr2::resp_headers(resp), body = parsed, response = resp)
}

retry_after_seconds <- function(resp) {
  value <- httr2::resp_header(resp, "Retry-After")
  if (is.null(value)) {
    return(NA_real_)
  }
  seconds <- suppressWarnings(as.numeric(value))
  if (is.na(seconds) || seconds < 0) NA_real_ else seconds
}

is_json <- function(resp) {
  if (!httr2::resp_header_exists(resp, "Content-Type")) {
    return(FALSE)
  }
  grepl("^application/([a-z.+-]*\\+)?json", tolower(httr2::resp_header(resp, "Content-Type")))
}

#' The service's health and version
#'
#' @param client a [gonogo_client()].
#' @return the parsed answer of `GET /health` or `GET /v1/version`.
#' @export
gonogo_health <- function(client) gonogo_request(client, "GET", "/health")

#' @rdname gonogo_health
#' @export
gonogo_version <- function(client) gonogo_request(client, "GET", "/v1/version")
