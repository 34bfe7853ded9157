"""Responders and PFS derived from tumour assessments: RECIST 1.1 and REiNS volumetric criteria,
best overall response with confirmation, clinical benefit, PFS (``designs.endpoints.derive``)."""
