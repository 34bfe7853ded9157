"""CDISC ADaM intake: ADSL, ADRS and ADTTE read from CSV, SAS transport (.xpt) or Dataset-JSON
(``designs.adam.readers``) and mapped to a data cut's patients (``designs.adam.mapping``)."""
