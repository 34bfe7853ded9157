# The calculators: stateless routes, one function per route. Simon's take their fields as arguments;
# the others take the request body as a list (the JSON documented in the service's OpenAPI document
# and README), because their bodies nest (strata, model, decision rule).

# The body of named arguments, without those left NULL (the service's defaults apply).
compact <- function(...) {
  fields <- list(...)
  fields[!vapply(fields, is.null, logical(1))]
}

check_body <- function(body, what) {
  if (!is.list(body) || is.data.frame(body) || (length(body) && is.null(names(body)))) {
    stop(sprintf("%s: body must be a named list (a JSON object), e.g. list(p0 = 0.15, ...)", what), call. = FALSE)
  }
}

# POST a calculation; a 202 answer is a job: waited for (wait = TRUE) or returned.
calculate <- function(client, path, body, async = FALSE, wait = TRUE, ...) {
  headers <- if (isTRUE(async)) list(Prefer = "respond-async") else NULL
  answer <- call_api(client, "POST", path, body = body, headers = headers)
  if (answer$status == 202L) {
    job <- as_job(answer$body)
    return(if (wait) gonogo_wait(client, job, ...) else job)
  }
  answer$body
}

#' Simon two-stage designs: search, evaluation, inference
#'
#' `gonogo_simon_designs()` finds the optimal, minimax and admissible two-stage designs
#' (Simon 1989; Jung et al. 2004) for testing `p0` against `p1`
#' (`POST /v1/simon/designs`); `gonogo_simon_evaluate()` gives the exact probability of
#' early termination, expected sample size and probability of declaring the treatment
#' promising of a design at each true rate in `p` (`POST /v1/simon/evaluate`);
#' `gonogo_simon_inference()` the UMVUE, exact p-value and confidence interval after a
#' trial (`POST /v1/simon/inference`). An argument left `NULL` takes the service's default.
#'
#' @param client a [gonogo_client()].
#' @param p0,p1 the uninteresting and target response rates.
#' @param alpha,beta type I and type II error bounds (service defaults 0.05 and 0.20).
#' @param nmax the largest total sample size searched (service default 100).
#' @param r1,n1,r,n the design: stop after `n1` patients with at most `r1` responders;
#'   promising when more than `r` of `n` respond (for inference, `n` is the attained total).
#' @param p the true response rates to evaluate at (a vector; one rate is sent as an array too).
#' @param responders total responders observed.
#' @return the service's answer as R lists, e.g. `designs$optimal$n1`;
#'   [gonogo_as_data_frame()] turns `designs$admissible` or `evaluation$evaluations`
#'   into a data frame.
#' @export
gonogo_simon_designs <- function(client, p0, p1, alpha = NULL, beta = NULL, nmax = NULL) {
  calculate(client, "/v1/simon/designs", compact(p0 = p0, p1 = p1, alpha = alpha, beta = beta, nmax = nmax))
}

#' @rdname gonogo_simon_designs
#' @export
gonogo_simon_evaluate <- function(client, r1, n1, r, n, p) {
  calculate(client, "/v1/simon/evaluate", compact(r1 = r1, n1 = n1, r = r, n = n, p = I(p)))
}

#' @rdname gonogo_simon_designs
#' @export
gonogo_simon_inference <- function(client, r1, n1, n, p0, responders, alpha = NULL) {
  calculate(client, "/v1/simon/inference",
            compact(r1 = r1, n1 = n1, n = n, p0 = p0, responders = responders, alpha = alpha))
}

#' Analyses, designs and their calibration
#'
#' One function per route; `body` is the request's JSON as an R list, exactly as in the
#' service's README and OpenAPI document (`/openapi.json`): a named list is an object, an
#' unnamed list or a data frame (one record per row) an array. A vector of length one is
#' sent as a JSON scalar: wrap it in `I()` (or `list()`) where the field is an array, e.g.
#' `looks = I(21)`. `NA` is sent as `null`; `NaN` and infinite values are refused before
#' anything is sent. Doubles are sent exactly (see [gonogo_json()]).
#'
#' \tabular{ll}{
#'   `gonogo_response_analysis()` \tab `POST /v1/analyses/response` (may answer with a job) \cr
#'   `gonogo_pfs_analysis()` \tab `POST /v1/analyses/pfs` (may answer with a job) \cr
#'   `gonogo_safety_analysis()` \tab `POST /v1/analyses/safety` \cr
#'   `gonogo_derive_endpoints()` \tab `POST /v1/endpoints/response` \cr
#'   `gonogo_operating_characteristics()` \tab `POST /v1/designs/operating-characteristics` (may answer with a job) \cr
#'   `gonogo_calibrate()` \tab `POST /v1/designs/calibrate` (may answer with a job) \cr
#'   `gonogo_pfs_operating_characteristics()` \tab `POST /v1/designs/pfs-operating-characteristics` (may answer with a job) \cr
#'   `gonogo_pfs_calibrate()` \tab `POST /v1/designs/pfs-calibrate` (may answer with a job) \cr
#'   `gonogo_boundaries()` \tab `POST /v1/designs/boundaries` \cr
#'   `gonogo_safety_boundaries()` \tab `POST /v1/designs/safety-boundaries` \cr
#' }
#'
#' @param client a [gonogo_client()].
#' @param body the request body, a named list.
#' @param async `TRUE`: send `Prefer: respond-async`, so that the service runs the request as
#'   a job whatever its size.
#' @param wait `TRUE`: when the service answers with a job (`202 Accepted`), poll it with
#'   [gonogo_wait()] and return its result; `FALSE`: return the job (class `gonogo_job`).
#' @param ... passed to [gonogo_wait()] (`interval`, `timeout`, `progress`).
#' @return the service's answer as R lists (or a job, see `wait`).
#' @export
gonogo_response_analysis <- function(client, body, async = FALSE, wait = TRUE, ...) {
  check_body(body, "gonogo_response_analysis")
  calculate(client, "/v1/analyses/response", body, async, wait, ...)
}

#' @rdname gonogo_response_analysis
#' @export
gonogo_pfs_analysis <- function(client, body, async = FALSE, wait = TRUE, ...) {
  check_body(body, "gonogo_pfs_analysis")
  calculate(client, "/v1/analyses/pfs", body, async, wait, ...)
}

#' @rdname gonogo_response_analysis
#' @export
gonogo_safety_analysis <- function(client, body) {
  check_body(body, "gonogo_safety_analysis")
  calculate(client, "/v1/analyses/safety", body)
}

#' @rdname gonogo_response_analysis
#' @export
gonogo_derive_endpoints <- function(client, body) {
  check_body(body, "gonogo_derive_endpoints")
  calculate(client, "/v1/endpoints/response", body)
}

#' @rdname gonogo_response_analysis
#' @export
gonogo_operating_characteristics <- function(client, body, async = FALSE, wait = TRUE, ...) {
  check_body(body, "gonogo_operating_characteristics")
  calculate(client, "/v1/designs/operating-characteristics", body, async, wait, ...)
}

#' @rdname gonogo_response_analysis
#' @export
gonogo_calibrate <- function(client, body, async = FALSE, wait = TRUE, ...) {
  check_body(body, "gonogo_calibrate")
  calculate(client, "/v1/designs/calibrate", body, async, wait, ...)
}

#' @rdname gonogo_response_analysis
#' @export
gonogo_pfs_operating_characteristics <- function(client, body, async = FALSE, wait = TRUE, ...) {
  check_body(body, "gonogo_pfs_operating_characteristics")
  calculate(client, "/v1/designs/pfs-operating-characteristics", body, async, wait, ...)
}

#' @rdname gonogo_response_analysis
#' @export
gonogo_pfs_calibrate <- function(client, body, async = FALSE, wait = TRUE, ...) {
  check_body(body, "gonogo_pfs_calibrate")
  calculate(client, "/v1/designs/pfs-calibrate", body, async, wait, ...)
}

#' @rdname gonogo_response_analysis
#' @export
gonogo_boundaries <- function(client, body) {
  check_body(body, "gonogo_boundaries")
  calculate(client, "/v1/designs/boundaries", body)
}

#' @rdname gonogo_response_analysis
#' @export
gonogo_safety_boundaries <- function(client, body) {
  check_body(body, "gonogo_safety_boundaries")
  calculate(client, "/v1/designs/safety-boundaries", body)
}
