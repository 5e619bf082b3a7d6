-- Operator commands travel through the inbox too, with the reason the operator gave.
ALTER TABLE inbox ADD COLUMN reason TEXT;
