# Request bodies: every double sent exactly, arrays where asked, nothing that is not a number.

test_that("doubles are sent in the shortest text that reads back as the same double", {
  json <- gonogo_json(list(a = 0.1 + 0.2, b = 1 / 3, c = 0.05, n = 21))
  expect_identical(json, '{"a":0.30000000000000004,"b":0.3333333333333333,"c":0.05,"n":21}')
  set.seed(1989)
  x <- c(runif(500), rexp(500) * 10^sample(-300:300, 500, replace = TRUE), .Machine$double.xmin, 5e-324)
  expect_identical(jsonlite::fromJSON(gonogo_json(x)), x)
})

test_that("a length-one vector is a scalar unless wrapped in I(); longer vectors are arrays", {
  expect_identical(gonogo_json(list(looks = 21, p = I(0.05), q = c(0.1, 0.2), none = I(numeric()))),
                   '{"looks":21,"p":[0.05],"q":[0.1,0.2],"none":[]}')
})

test_that("data frames are arrays of records, dates ISO 8601, NA null", {
  strata <- data.frame(name = c("NF1", "sporadic"), n = c(10, 10), responders = c(3L, NA))
  expect_identical(gonogo_json(list(strata = strata, as_of = as.Date("2024-09-01"), seed = NA)),
                   paste0('{"strata":[{"name":"NF1","n":10,"responders":3},{"name":"sporadic","n":10,',
                          '"responders":null}],"as_of":"2024-09-01","seed":null}'))
})

test_that("NaN and infinite values are refused naming where they are, before anything is sent", {
  err <- expect_error(gonogo_json(list(strata = list(list(n = 1), list(n = NaN)))), class = "gonogo_invalid_body")
  expect_match(conditionMessage(err), "^strata/1/n: NaN is not a number")
  expect_error(gonogo_json(list(p = c(0.1, Inf))), "p: Inf", class = "gonogo_invalid_body")
})

test_that("records become a data frame of their scalar fields", {
  frame <- gonogo_as_data_frame(list(list(p = 0.05, pet = 0.63, nested = list(1, 2)),
                                     list(p = 0.25, pet = NULL, nested = list())))
  expect_identical(names(frame), c("p", "pet"))
  expect_identical(frame$p, c(0.05, 0.25))
  expect_identical(frame$pet, c(0.63, NA))
})
