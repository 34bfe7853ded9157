# Request bodies as JSON, exactly.
#
# jsonlite writes doubles with 15 significant digits (digits = NA), which loses precision:
# 0.1 + 0.2 would be sent as 0.3 and 1/3 as 0.333333333333333. gonogo reports the SHA-256 of
# the request it computed on, so a body must say exactly the doubles the caller holds. Every
# double is therefore written in the shortest of 15, 16 or 17 significant digits that reads
# back (with a correctly rounded parser, as the server's) as the same double.

#' A request body as JSON text, as the client sends it
#'
#' @param body a list (named: a JSON object; unnamed: an array), data frame (an array of
#'   records, one per row), or atomic vector.
#' @return a character string of JSON.
#' @export
gonogo_json <- function(body) {
  prepared <- prepare_json(body, "")
  as.character(jsonlite::toJSON(prepared, auto_unbox = TRUE, json_verbatim = TRUE,
                                null = "null", na = "null", digits = NA))
}

# The value with every double replaced by verbatim JSON text (class "json"), dates as ISO 8601
# strings and factors as strings; a length-1 vector is a JSON scalar unless wrapped in I().
# `path` is the JSON-pointer-like location (`strata/1/responders`) named in errors.
prepare_json <- function(x, path) {
  if (is.null(x)) {
    return(NULL)
  }
  if (is.data.frame(x)) {
    rows <- lapply(seq_len(nrow(x)), function(i) {
      lapply(x, function(column) if (is.list(column)) column[[i]] else column[i])
    })
    return(prepare_json(rows, path))
  }
  if (is.list(x)) {
    keys <- names(x)
    out <- lapply(seq_along(x), function(i) {
      key <- if (!is.null(keys) && !is.na(keys[i]) && nzchar(keys[i])) keys[i] else as.character(i - 1L)
      prepare_json(x[[i]], if (nzchar(path)) paste0(path, "/", key) else key)
    })
    names(out) <- keys
    return(out)
  }
  boxed <- inherits(x, "AsIs")
  if (inherits(x, "Date")) {
    x <- format(x, "%Y-%m-%d")
  } else if (inherits(x, "POSIXt")) {
    x <- format(as.POSIXct(x), "%Y-%m-%dT%H:%M:%SZ", tz = "UTC")
  } else if (is.factor(x)) {
    x <- as.character(x)
  }
  if (is.double(x)) {
    bad <- is.nan(x) | is.infinite(x)
    if (any(bad)) {
      where <- if (nzchar(path)) path else "(the body)"
      stop(structure(class = c("gonogo_invalid_body", "error", "condition"), list(
        message = sprintf("%s: %s is not a number JSON can carry; give a finite value (or NA for null)",
                          where, format(x[bad][1])),
        call = NULL, field = where)))
    }
    text <- rep("null", length(x))
    finite <- !is.na(x)
    text[finite] <- shortest_doubles(as.vector(x[finite]))
    json <- if (length(x) == 1L && !boxed) text else paste0("[", paste(text, collapse = ","), "]")
    return(structure(json, class = "json"))
  }
  if (boxed) {
    return(I(as.vector(x)))
  }
  as.vector(x)
}

# The shortest decimal text (15, 16 or 17 significant digits) of each double that parses back to
# it; the check parses with jsonlite (the C library's correctly rounded strtod), as a JSON reader
# would. 17 digits always identify a double.
shortest_doubles <- function(v) {
  if (length(v) == 0L) {
    return(character())
  }
  text <- sprintf("%.15g", v)
  for (digits in 16:17) {
    back <- jsonlite::fromJSON(paste0("[", paste(text, collapse = ","), "]"))
    differs <- back != v
    if (!any(differs)) {
      break
    }
    text[differs] <- sprintf(paste0("%.", digits, "g"), v[differs])
  }
  text
}

# A response body (JSON text) as R lists: jsonlite with simplifyVector = FALSE, so that every
# JSON array is an R list and every object a named list, whatever its length or content (a
# one-element array stays a list; null is NULL). Numbers are doubles parsed exactly.
parse_json_text <- function(text) {
  if (is.null(text) || !nzchar(text)) {
    return(NULL)
  }
  jsonlite::fromJSON(text, simplifyVector = FALSE)
}

#' A list of JSON records as a data frame
#'
#' Turns a list of records (each a named list, as `designs$admissible`,
#' `evaluation$evaluations` or `analysis$strata`) into a data frame with one row per
#' record and one column per field whose values are all scalars (numbers, strings,
#' logicals or null, which becomes `NA`); nested fields (lists, arrays) are left out.
#'
#' @param records a list of named lists.
#' @return a data frame.
#' @export
gonogo_as_data_frame <- function(records) {
  if (!is.list(records) || !all(vapply(records, is.list, logical(1)))) {
    stop("gonogo_as_data_frame: records must be a list of named lists (JSON objects)", call. = FALSE)
  }
  if (length(records) == 0L) {
    return(data.frame())
  }
  fields <- unique(unlist(lapply(records, names)))
  scalar <- function(value) is.null(value) || (is.atomic(value) && length(value) == 1L)
  keep <- Filter(function(field) all(vapply(records, function(r) scalar(r[[field]]), logical(1))), fields)
  columns <- lapply(keep, function(field) {
    values <- lapply(records, function(r) if (is.null(r[[field]])) NA else r[[field]])
    unlist(values)
  })
  names(columns) <- keep
  as.data.frame(columns, stringsAsFactors = FALSE, optional = TRUE)
}
