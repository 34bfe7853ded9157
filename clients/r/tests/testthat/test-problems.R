# Answers without a server (httr2's mocks): problem+json as a gonogo_problem, 503 retried.

problem_response <- function(status, body, headers = list()) {
  httr2::response(status, headers = c(list("content-type" = "application/problem+json"), headers),
                  body = charToRaw(jsonlite::toJSON(body, auto_unbox = TRUE)))
}

invalid <- list(type = "/problems/invalid-request", title = "Invalid request", status = 422,
                detail = "p0: must be below p1; strata/1/responders: exceeds n",
                errors = list(list(field = "p0", reason = "must be below p1"),
                              list(field = "strata/1/responders", reason = "exceeds n")))

test_that("a 422 problem+json is a gonogo_problem whose message names every field, problem attached", {
  client <- gonogo_client("http://gonogo.invalid")
  err <- httr2::with_mock(function(req) problem_response(422, invalid),
                          expect_error(gonogo_simon_designs(client, 0.3, 0.1), class = "gonogo_problem"))
  expect_match(conditionMessage(err), "POST /v1/simon/designs: 422 Invalid request (/problems/invalid-request)",
               fixed = TRUE)
  expect_match(conditionMessage(err), "\n  p0: must be below p1\n  strata/1/responders: exceeds n$")
  expect_identical(err$status, 422L)
  expect_identical(err$errors$field, c("p0", "strata/1/responders"))
  expect_identical(err$problem$type, "/problems/invalid-request")
  expect_s3_class(err, "error")
})

test_that("a problem without errors shows its detail; a non-JSON error body becomes the detail", {
  client <- gonogo_client("http://gonogo.invalid")
  conflict <- list(type = "/problems/conflict", title = "Conflict", status = 409, detail = "look 3 stored meanwhile")
  err <- httr2::with_mock(function(req) problem_response(409, conflict),
                          expect_error(gonogo_request(client, "GET", "/v1/trials"), class = "gonogo_problem"))
  expect_match(conditionMessage(err), "409 Conflict (/problems/conflict)\n  look 3 stored meanwhile", fixed = TRUE)
  err <- httr2::with_mock(function(req) httr2::response(502, headers = list("content-type" = "text/plain"),
                                                        body = charToRaw("bad gateway")),
                          expect_error(gonogo_health(client), class = "gonogo_problem"))
  expect_identical(err$status, 502L)
  expect_match(conditionMessage(err), "bad gateway")
})

test_that("a 503 with Retry-After is sent again, at most max_retries times", {
  calls <- 0L
  busy <- list(type = "/problems/busy", title = "Busy", status = 503, detail = "all workers are busy")
  mock <- function(req) {
    calls <<- calls + 1L
    if (calls <= 2L) problem_response(503, busy, list("retry-after" = "0"))
    else httr2::response(200, headers = list("content-type" = "application/json"), body = charToRaw('{"ok":true}'))
  }
  client <- gonogo_client("http://gonogo.invalid", max_retries = 2)
  expect_identical(httr2::with_mock(mock, gonogo_health(client)), list(ok = TRUE))
  expect_identical(calls, 3L)

  calls <- 0L
  client <- gonogo_client("http://gonogo.invalid", max_retries = 1)
  err <- httr2::with_mock(mock, expect_error(gonogo_health(client), class = "gonogo_problem"))
  expect_identical(calls, 2L)
  expect_identical(err$retry_after, 0)
})

test_that("a 503 without Retry-After, or a registry POST without Idempotency-Key, is not sent again", {
  calls <- 0L
  timeout <- list(type = "/problems/computation-timeout", title = "Computation took too long", status = 503,
                  detail = "ran longer than 120 s")
  client <- gonogo_client("http://gonogo.invalid")
  httr2::with_mock(function(req) { calls <<- calls + 1L; problem_response(503, timeout) },
                   expect_error(gonogo_health(client), class = "gonogo_problem"))
  expect_identical(calls, 1L)
  calls <- 0L
  busy <- list(type = "/problems/busy", title = "Busy", status = 503, detail = "busy")
  httr2::with_mock(function(req) { calls <<- calls + 1L; problem_response(503, busy, list("retry-after" = "0")) },
                   expect_error(gonogo_request(client, "POST", "/v1/trials/x/looks", list(data_cut = 1)),
                                class = "gonogo_problem"))
  expect_identical(calls, 1L)
})

test_that("the bearer token is sent when given, and registry reads refuse to run without one", {
  seen <- NULL
  mock <- function(req) {
    seen <<- req$headers$Authorization
    httr2::response(200, headers = list("content-type" = "application/json"), body = charToRaw("[]"))
  }
  expect_identical(httr2::with_mock(mock, gonogo_trials(gonogo_client("http://gonogo.invalid", token = "s3cret"))),
                   list())
  expect_identical(seen, "Bearer s3cret")
  expect_error(gonogo_trials(gonogo_client("http://gonogo.invalid")), "needs a bearer token")
  expect_false(any(grepl("s3cret", capture.output(print(gonogo_client("http://x.invalid", token = "s3cret"))))))
})

test_that("a 202 answer is a job: returned with wait = FALSE, polled to its result with wait = TRUE", {
  polls <- 0L
  mock <- function(req) {
    json <- function(status, text) httr2::response(status, headers = list("content-type" = "application/json"),
                                                   body = charToRaw(text))
    if (req$method == "POST") {
      expect_identical(req$headers$Prefer, "respond-async")
      return(json(202, '{"id":"j1","kind":"calibration","state":"queued","progress":0}'))
    }
    polls <<- polls + 1L
    if (polls < 2L) json(200, '{"id":"j1","kind":"calibration","state":"running","progress":0.5}')
    else json(200, '{"id":"j1","kind":"calibration","state":"succeeded","progress":1,"result":{"threshold":0.9}}')
  }
  client <- gonogo_client("http://gonogo.invalid")
  job <- httr2::with_mock(mock, gonogo_calibrate(client, list(p0 = 0.15), async = TRUE, wait = FALSE))
  expect_s3_class(job, "gonogo_job")
  expect_identical(job$id, "j1")
  result <- httr2::with_mock(mock, gonogo_calibrate(client, list(p0 = 0.15), async = TRUE, interval = 0.01))
  expect_identical(result, list(threshold = 0.9))
  expect_identical(polls, 2L)
})

test_that("a failed job raises its problem; an interrupted one a gonogo_job_error", {
  failed <- paste0('{"id":"j2","kind":"calibration","state":"failed","progress":0.3,"error":',
                   '{"type":"/problems/worker-died","title":"Worker died","status":503,"detail":"a worker died"}}')
  client <- gonogo_client("http://gonogo.invalid")
  json <- function(text) function(req) httr2::response(200, headers = list("content-type" = "application/json"),
                                                       body = charToRaw(text))
  err <- httr2::with_mock(json(failed), expect_error(gonogo_wait(client, "j2"), class = "gonogo_problem"))
  expect_identical(err$status, 503L)
  expect_match(conditionMessage(err), "job j2: 503 Worker died (/problems/worker-died)", fixed = TRUE)
  interrupted <- '{"id":"j3","kind":"pfs-analysis","state":"interrupted","progress":0.3,"request":{"seed":1}}'
  err <- httr2::with_mock(json(interrupted), expect_error(gonogo_wait(client, "j3"), class = "gonogo_job_error"))
  expect_identical(err$job$request, list(seed = 1L))
})

test_that("no answer at all is a gonogo_connection_error naming the address", {
  client <- gonogo_client("http://127.0.0.1:1", timeout = 5, max_retries = 0)
  err <- expect_error(gonogo_health(client), class = "gonogo_connection_error")
  expect_match(conditionMessage(err), "no answer from http://127.0.0.1:1/health", fixed = TRUE)
})

test_that("waiting longer than timeout for a job is a gonogo_job_timeout carrying the job", {
  running <- '{"id":"j4","kind":"calibration","state":"running","progress":0.25}'
  mock <- function(req) httr2::response(200, headers = list("content-type" = "application/json"),
                                        body = charToRaw(running))
  client <- gonogo_client("http://gonogo.invalid")
  err <- httr2::with_mock(mock, expect_error(gonogo_wait(client, "j4", interval = 0.05, timeout = 0.2),
                                             class = "gonogo_job_timeout"))
  expect_identical(err$job$state, "running")
  expect_match(conditionMessage(err), 'gonogo_wait(client, "j4")', fixed = TRUE)
})
