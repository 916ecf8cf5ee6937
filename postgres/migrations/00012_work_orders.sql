-- Work orders (工单) of the 12345 practice: the statuses, categories and urgencies of
-- agentdesk/workorder, the department in charge (主办) and those assisting (协办), a deadline
-- on working days, confidentiality, urging (催办), extensions (延期), the department's reply,
-- the citizen's satisfaction at the follow-up (回访) and merging (并单). Numbers are
-- FS<yyyymmdd>-<sequence of the day>. Department users (部门用户) are desk users of role
-- department with their department; a follow-up call is a callback linked to its order.

-- +goose Up
ALTER TABLE hotline.work_orders
    DROP CONSTRAINT work_orders_status_check,
    DROP CONSTRAINT work_orders_priority_check;
UPDATE hotline.work_orders SET status = CASE status
    WHEN 'open' THEN 'accepted' WHEN 'assigned' THEN 'dispatched' WHEN 'in_progress' THEN 'in_progress'
    WHEN 'resolved' THEN 'resolved' ELSE 'archived' END;
UPDATE hotline.work_orders SET category = 'help'
    WHERE category NOT IN ('consultation', 'help', 'complaint', 'suggestion', 'praise', 'report');
UPDATE hotline.work_orders SET due_at = created_at + interval '3 days' WHERE due_at IS NULL;
ALTER TABLE hotline.work_orders
    ALTER COLUMN status SET DEFAULT 'accepted',
    ALTER COLUMN due_at SET NOT NULL,
    ADD CONSTRAINT work_orders_status_check CHECK (status IN
        ('accepted', 'dispatched', 'signed', 'in_progress', 'resolved', 'followed_up', 'archived')),
    ADD CONSTRAINT work_orders_category_check CHECK (category IN
        ('consultation', 'help', 'complaint', 'suggestion', 'praise', 'report')),
    ADD COLUMN urgency text NOT NULL DEFAULT 'normal' CHECK (urgency IN ('normal', 'urgent', 'emergency')),
    ADD COLUMN department_id integer REFERENCES platform.departments (id),
    ADD COLUMN confidential boolean NOT NULL DEFAULT false,
    ADD COLUMN queue_id text REFERENCES hotline.queues (id),
    ADD COLUMN journey_summary text NOT NULL DEFAULT '',
    ADD COLUMN urged_at timestamptz,
    ADD COLUMN extension_due_at timestamptz,
    ADD COLUMN extension_reason text NOT NULL DEFAULT '',
    ADD COLUMN extension_state text CHECK (extension_state IN ('requested', 'approved', 'rejected')),
    ADD COLUMN reply text NOT NULL DEFAULT '',
    ADD COLUMN satisfaction integer CHECK (satisfaction BETWEEN 1 AND 5),
    ADD COLUMN merged_into bigint REFERENCES hotline.work_orders (id),
    ADD CONSTRAINT work_orders_not_merged_into_itself CHECK (merged_into <> id);
UPDATE hotline.work_orders SET urgency = 'urgent' WHERE priority IN ('high', 'urgent');
ALTER TABLE hotline.work_orders DROP COLUMN priority, DROP COLUMN assignee_id;
CREATE INDEX work_orders_department ON hotline.work_orders (department_id, status) WHERE department_id IS NOT NULL;
CREATE INDEX work_orders_open_due ON hotline.work_orders (due_at)
    WHERE status IN ('accepted', 'dispatched', 'signed', 'in_progress');
CREATE INDEX work_orders_caller ON hotline.work_orders (caller_number);
CREATE INDEX work_orders_merged_into ON hotline.work_orders (merged_into) WHERE merged_into IS NOT NULL;

-- 协办: departments assisting the one in charge.
CREATE TABLE hotline.work_order_departments (
    work_order_id bigint NOT NULL REFERENCES hotline.work_orders (id),
    department_id integer NOT NULL REFERENCES platform.departments (id),
    PRIMARY KEY (work_order_id, department_id)
);
CREATE INDEX work_order_departments_department ON hotline.work_order_departments (department_id);

-- The last number given on each day (Asia/Shanghai).
CREATE TABLE hotline.work_order_numbers (
    day  date PRIMARY KEY,
    last integer NOT NULL CHECK (last > 0)
);

ALTER TABLE hotline.agents
    DROP CONSTRAINT agents_role_check,
    ADD CONSTRAINT agents_role_check CHECK (role IN ('agent', 'supervisor', 'admin', 'department')),
    ADD COLUMN department_id integer REFERENCES platform.departments (id),
    ADD CONSTRAINT agents_department_role CHECK ((role = 'department') = (department_id IS NOT NULL)),
    ADD CONSTRAINT agents_department_no_phone CHECK (role <> 'department' OR endpoint IS NULL);

ALTER TABLE hotline.callbacks ADD COLUMN work_order_id bigint REFERENCES hotline.work_orders (id);
CREATE INDEX callbacks_work_order ON hotline.callbacks (work_order_id) WHERE work_order_id IS NOT NULL;

-- +goose Down
DROP INDEX hotline.callbacks_work_order;
ALTER TABLE hotline.callbacks DROP COLUMN work_order_id;
DELETE FROM hotline.sessions WHERE agent_id IN (SELECT id FROM hotline.agents WHERE role = 'department');
UPDATE hotline.agents SET role = 'agent', active = false WHERE role = 'department';
ALTER TABLE hotline.agents
    DROP CONSTRAINT agents_department_no_phone,
    DROP CONSTRAINT agents_department_role,
    DROP COLUMN department_id,
    DROP CONSTRAINT agents_role_check,
    ADD CONSTRAINT agents_role_check CHECK (role IN ('agent', 'supervisor', 'admin'));
DROP TABLE hotline.work_order_numbers;
DROP TABLE hotline.work_order_departments;
DROP INDEX hotline.work_orders_merged_into;
DROP INDEX hotline.work_orders_caller;
DROP INDEX hotline.work_orders_open_due;
DROP INDEX hotline.work_orders_department;
ALTER TABLE hotline.work_orders
    DROP CONSTRAINT work_orders_status_check,
    DROP CONSTRAINT work_orders_category_check,
    ADD COLUMN priority text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    ADD COLUMN assignee_id bigint REFERENCES hotline.agents (id);
UPDATE hotline.work_orders SET priority = 'urgent' WHERE urgency <> 'normal';
UPDATE hotline.work_orders SET status = CASE status
    WHEN 'accepted' THEN 'open' WHEN 'dispatched' THEN 'assigned' WHEN 'signed' THEN 'assigned'
    WHEN 'in_progress' THEN 'in_progress' WHEN 'resolved' THEN 'resolved' ELSE 'closed' END;
ALTER TABLE hotline.work_orders
    DROP CONSTRAINT work_orders_not_merged_into_itself,
    DROP COLUMN urgency, DROP COLUMN department_id, DROP COLUMN confidential, DROP COLUMN queue_id,
    DROP COLUMN journey_summary, DROP COLUMN urged_at, DROP COLUMN extension_due_at,
    DROP COLUMN extension_reason, DROP COLUMN extension_state, DROP COLUMN reply,
    DROP COLUMN satisfaction, DROP COLUMN merged_into,
    ALTER COLUMN status SET DEFAULT 'open',
    ALTER COLUMN due_at DROP NOT NULL,
    ADD CONSTRAINT work_orders_status_check CHECK (status IN ('open', 'assigned', 'in_progress', 'resolved', 'closed'));
CREATE INDEX work_orders_assignee ON hotline.work_orders (assignee_id, status) WHERE assignee_id IS NOT NULL;
