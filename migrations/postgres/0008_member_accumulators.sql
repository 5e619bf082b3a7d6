-- Year-to-date accumulators that Warden's adjudication left, one row per member and stream
-- (source), never a shared family row: a family's total is the sum of its members' rows, so
-- no two partitions or streams ever contend for one row (case study 004's deadlock storm).
-- Setup starts each member found here from these values instead of the eligibility feed's;
-- the `post-accumulators` job writes back the members a reconciled run changed (issue #5).
--
-- `posted_run` is the run whose post set the values; `prior_*` and `prior_run` what they
-- were before it (`prior_run` NULL: the post created the row). A post first undoes what an
-- earlier attempt of the same run posted, and a setup of that run reads the values from
-- before it, so repeating either inside one run changes nothing; a post over values some
-- other run changed since setup read them is refused.
CREATE TABLE member_accumulators (
    source                 TEXT NOT NULL,
    member                 BIGINT NOT NULL,
    family                 BIGINT NOT NULL,
    deductible_cents       BIGINT NOT NULL,
    oop_cents              BIGINT NOT NULL,
    posted_run             BIGINT NOT NULL REFERENCES cycle_runs (id),
    posted_at              TIMESTAMPTZ NOT NULL,
    prior_deductible_cents BIGINT NOT NULL,
    prior_oop_cents        BIGINT NOT NULL,
    prior_run              BIGINT REFERENCES cycle_runs (id),
    PRIMARY KEY (source, member)
);
