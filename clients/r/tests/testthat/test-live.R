# Against a running gonogo service: GONOGO_URL (e.g. http://127.0.0.1:8000); skipped without it.
# The registry test also needs GONOGO_TOKEN (a statistician's or the DMC's) and GONOGO_TRIAL, a trial
# of that token with at least one look (tests/clients/test_r_client.py sets all three up).

live_client <- function(token = NULL) {
  url <- Sys.getenv("GONOGO_URL")
  skip_if(!nzchar(url), "GONOGO_URL is not set: no gonogo service to test against")
  gonogo_client(url, token = token)
}

response_body <- function() {
  list(p0 = 0.15, p1 = 0.35,
       strata = data.frame(name = c("NF1-associated", "sporadic"), n = c(10, 10), responders = c(3, 1),
                           n_planned = c(28, 28)),
       model = list(kind = "hierarchical", prior = list(mu_sd = 2.6159, tau_scale = 1)),
       decision = list(final_threshold = 0.95, futility_ppos = 0.05, efficacy_ppos = 0.95),
       engine = "quadrature", simon = list(r1 = 2, n1 = 15, r = 7, n = 28), seed = 2026)
}

test_that("Simon (1989), p0 0.05 p1 0.25 alpha 0.05 beta 0.2: optimal 0/9, 2/17; minimax 0/12, 2/16", {
  client <- live_client()
  designs <- gonogo_simon_designs(client, p0 = 0.05, p1 = 0.25, alpha = 0.05, beta = 0.2)
  expect_identical(unlist(designs$optimal[c("r1", "n1", "r", "n")]), c(r1 = 0L, n1 = 9L, r = 2L, n = 17L))
  expect_identical(unlist(designs$minimax[c("r1", "n1", "r", "n")]), c(r1 = 0L, n1 = 12L, r = 2L, n = 16L))
  # Simon's Table 1: EN(p0) 12.0, PET(p0) 0.63 for the optimal design.
  expect_equal(designs$optimal$expected_n_null, 12.0, tolerance = 0.005)
  expect_equal(designs$optimal$pet_null, 0.63, tolerance = 0.005)
  expect_lte(designs$optimal$type_i_error, 0.05)
  expect_gte(designs$optimal$power, 0.8)
  evaluation <- gonogo_simon_evaluate(client, r1 = 0, n1 = 9, r = 2, n = 17, p = 0.05)
  expect_equal(evaluation$evaluations[[1]]$prob_reject_null, designs$optimal$type_i_error, tolerance = 1e-12)
})

test_that("a response analysis by quadrature answers per stratum, and exactly the same again", {
  client <- live_client()
  analysis <- gonogo_response_analysis(client, response_body())
  strata <- gonogo_as_data_frame(analysis$strata)
  expect_identical(strata$name, c("NF1-associated", "sporadic"))
  expect_true(all(strata$decision %in% c("go", "no-go", "continue")))
  expect_true(all(strata$prob_above_p0 > 0 & strata$prob_above_p0 < 1))
  expect_gt(strata$prob_above_p0[1], strata$prob_above_p0[2])  # 3/10 responders against 1/10
  expect_identical(gonogo_response_analysis(client, response_body())$strata, analysis$strata)
})

test_that("bad fields give a gonogo_problem naming each of them", {
  client <- live_client()
  body <- response_body()
  body$strata$responders[2] <- 11  # more responders than patients
  body$p1 <- 0.1                   # below p0
  err <- expect_error(gonogo_response_analysis(client, body), class = "gonogo_problem")
  expect_identical(err$status, 422L)
  expect_true("strata/1/responders" %in% err$errors$field)
  expect_match(conditionMessage(err), "strata/1/responders: ", fixed = TRUE)
  expect_true(any(startsWith(err$errors$field, "p1")) || any(startsWith(err$errors$field, "p0")))
  err <- expect_error(gonogo_simon_designs(client, p0 = 1.5, p1 = 0.25, alpha = 0.7), class = "gonogo_problem")
  expect_identical(sort(err$errors$field), c("alpha", "p0"))
})

test_that("Prefer: respond-async gives a job whose result is the synchronous answer", {
  client <- live_client()
  job <- gonogo_response_analysis(client, response_body(), async = TRUE, wait = FALSE)
  expect_s3_class(job, "gonogo_job")
  expect_true(job$state %in% c("queued", "running", "succeeded"))
  result <- gonogo_wait(client, job, interval = 0.2, timeout = 120)
  expect_identical(result$strata, gonogo_response_analysis(client, response_body())$strata)
  status <- gonogo_job(client, job)
  expect_identical(status$state, "succeeded")
  expect_identical(status$request_sha256, result$provenance$input_sha256)
})

test_that("the registry: the token's trials, a look, and its report saved to a file", {
  token <- Sys.getenv("GONOGO_TOKEN")
  trial <- Sys.getenv("GONOGO_TRIAL")
  skip_if(!nzchar(token) || !nzchar(trial), "GONOGO_TOKEN and GONOGO_TRIAL are not set")
  client <- live_client(token)
  trials <- gonogo_trials(client)
  expect_true(trial %in% vapply(trials, function(t) t$id, ""))
  looks <- gonogo_looks(client, trial)
  expect_gte(length(looks), 1L)
  look <- gonogo_look(client, trial, 1)
  expect_identical(look$look, 1L)
  expect_match(look$sha256, "^[0-9a-f]{64}$")
  dir <- tempfile("reports")
  dir.create(dir)
  path <- gonogo_download_report(client, trial, 1, dir)
  expect_identical(basename(path), sprintf("%s-look-1-closed.html", trial))
  expect_match(paste(readLines(path, n = 5, warn = FALSE), collapse = "\n"), "<!DOCTYPE html>", ignore.case = TRUE)
  expect_error(gonogo_download_report(client, trial, 1, path), "exists")
  err <- expect_error(gonogo_look(client, trial, 999), class = "gonogo_problem")
  expect_identical(err$status, 404L)
  err <- expect_error(gonogo_trials(gonogo_client(Sys.getenv("GONOGO_URL"), token = "not-a-token")),
                      class = "gonogo_problem")
  expect_identical(err$status, 401L)
})
