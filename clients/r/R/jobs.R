# Jobs: a large computation (or any, with `Prefer: respond-async`) is answered 202 with a job to
# poll at /v1/jobs/{id} until it has finished.

#' Jobs: state, waiting for the result, cancelling
#'
#' A design, calibration or analysis the service finds too large to answer at once (or any
#' sent with `async = TRUE`, i.e. `Prefer: respond-async`) is answered `202 Accepted` with a
#' job. The calculator functions wait for it by default (`wait = TRUE`); with
#' `wait = FALSE` they return the job, to be passed here.
#'
#' `gonogo_wait()` polls `GET /v1/jobs/{id}` (every `interval` seconds, growing by half up
#' to `max_interval`) until the job has finished, and returns its result: the document the
#' route would have answered. A failed job raises the `gonogo_problem` of its `error` (the
#' same problem the request would have had); a cancelled or interrupted one (its worker
#' stopped: resubmit its `request`) raises an error of class `gonogo_job_error` carrying
#' the job's status as `job`; running out of `timeout` raises `gonogo_job_timeout` (the job
#' goes on: wait again with its id).
#'
#' @param client a [gonogo_client()].
#' @param job a job (the value of a calculator with `wait = FALSE`, or of `gonogo_job()`)
#'   or its id.
#' @param interval,max_interval seconds between polls: the first, and the most.
#' @param timeout the most seconds to wait.
#' @param progress `TRUE`: a message with the job's state and progress at each poll.
#' @return `gonogo_job()` and `gonogo_cancel_job()`: the job's status (class `gonogo_job`:
#'   `id`, `kind`, `state`, `progress`, `request`, `result`, `error`, ...);
#'   `gonogo_wait()`: the job's result.
#' @export
gonogo_job <- function(client, job) {
  as_job(gonogo_request(client, "GET", paste0("/v1/jobs/", segment(job_id(job), "job"))))
}

#' @rdname gonogo_job
#' @export
gonogo_wait <- function(client, job, interval = 0.5, max_interval = 10, timeout = Inf, progress = FALSE) {
  id <- job_id(job)
  started <- Sys.time()
  repeat {
    status <- gonogo_job(client, id)
    if (progress) {
      message(sprintf("gonogo job %s: %s, %.0f%% done", id, status$state, 100 * (status$progress %||% 0)))
    }
    switch(status$state,
      succeeded = return(status$result),
      failed = stop(gonogo_problem(status$error %||% list(title = "Job failed", status = 500L),
                                   request = paste("job", id))),
      cancelled = , interrupted = stop(job_error(status)),
      NULL)
    waited <- as.numeric(difftime(Sys.time(), started, units = "secs"))
    if (waited + interval > timeout) {
      stop(structure(class = c("gonogo_job_timeout", "error", "condition"), list(
        message = sprintf("gonogo job %s still %s after %.0f s: wait again with gonogo_wait(client, \"%s\")",
                          id, status$state, waited, id),
        call = NULL, job = status)))
    }
    Sys.sleep(interval)
    interval <- min(interval * 1.5, max_interval)
  }
}

#' @rdname gonogo_job
#' @export
gonogo_cancel_job <- function(client, job) {
  as_job(gonogo_request(client, "DELETE", paste0("/v1/jobs/", segment(job_id(job), "job"))))
}

job_id <- function(job) {
  if (is.list(job)) job$id else job
}

as_job <- function(x) {
  structure(x, class = c("gonogo_job", "list"))
}

job_error <- function(status) {
  detail <- if (identical(status$state, "interrupted")) {
    "its worker stopped (restart, crash) before it finished: resubmit job$request"
  } else {
    "it was cancelled"
  }
  structure(class = c("gonogo_job_error", "error", "condition"), list(
    message = sprintf("gonogo job %s (%s) did not finish: %s", status$id, status$kind, detail),
    call = NULL, job = status))
}

#' @export
print.gonogo_job <- function(x, ...) {
  cat(sprintf("<gonogo_job %s (%s): %s, %.0f%% done>\n", x$id, x$kind %||% "?", x$state,
              100 * (x$progress %||% 0)))
  invisible(x)
}
