-- Image generation: images per minute on rate-limit policies; usage rows say what kind of request they
-- count and how many images it stored; model configs may price images by size and quality. Forward-only.

-- Images/min, enforced on a policy's image scopes (`key:<key_id>:images`, `provider:<name>:images`): the
-- limiter's "tokens" there are images. requests_per_minute applies to image requests too, in a window of
-- their own, so image and text requests never count against each other.
ALTER TABLE rate_limit_policies ADD COLUMN images_per_minute INTEGER
  CHECK (images_per_minute IS NULL OR images_per_minute > 0);

-- 'text' (chat, messages, responses, generate), 'embedding' or 'image'. Rows written before this
-- migration are text or embeddings: an embeddings row is recognised by its endpoint.
ALTER TABLE usage_events ADD COLUMN kind TEXT NOT NULL DEFAULT 'text'
  CHECK (kind IN ('text', 'embedding', 'image'));
UPDATE usage_events SET kind = 'embedding' WHERE endpoint = 'embeddings';

-- Images stored for the request (0 for text and embeddings).
ALTER TABLE usage_events ADD COLUMN images INTEGER NOT NULL DEFAULT 0;

-- Prices per image by size and quality over price_per_image: a JSON object such as
-- {"1024x1024": 0.04, "1024x1024/hd": 0.08, "*/high": 0.09} (keys checked by the admin API), or NULL.
ALTER TABLE model_configs ADD COLUMN image_prices TEXT
  CHECK (image_prices IS NULL OR json_type(image_prices) = 'object');
