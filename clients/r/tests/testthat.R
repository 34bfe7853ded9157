# R CMD check runs this; the live tests skip unless GONOGO_URL names a running gonogo service.
library(testthat)
library(gonogo)

test_check("gonogo")
