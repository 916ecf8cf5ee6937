-- Personal information on request: a callback whose number was erased keeps its row (the
-- record of the service) with an empty number.

-- +goose Up
ALTER TABLE hotline.callbacks DROP CONSTRAINT callbacks_number_check,
    ADD CONSTRAINT callbacks_number_check CHECK (number ~ '^([0-9]{3,20})?$');

-- +goose Down
UPDATE hotline.callbacks SET number = '000' WHERE number = '';
ALTER TABLE hotline.callbacks DROP CONSTRAINT callbacks_number_check,
    ADD CONSTRAINT callbacks_number_check CHECK (number ~ '^[0-9]{3,20}$');
