// The payload templates of bench webhooks, as Stripe sends them; their
// fields are written {{name}} (see webhookField).

package main

const invoicePaidTemplate = `{
  "id": "{{evt}}",
  "object": "event",
  "api_version": "2023-10-16",
  "created": {{created}},
  "data": {
    "object": {
      "id": "{{inv}}",
      "object": "invoice",
      "account_country": "US",
      "account_name": "Asept Soft",
      "account_tax_ids": null,
      "amount_due": 900,
      "amount_paid": 900,
      "amount_remaining": 0,
      "amount_shipping": 0,
      "application": null,
      "application_fee_amount": null,
      "attempt_count": 1,
      "attempted": true,
      "auto_advance": false,
      "automatic_tax": {
        "enabled": false,
        "liability": null,
        "status": null
      },
      "billing_reason": "{{reason}}",
      "charge": "{{ch}}",
      "collection_method": "charge_automatically",
      "created": {{pstart}},
      "currency": "usd",
      "custom_fields": null,
      "customer": "{{cus}}",
      "customer_address": {
        "city": "Berlin",
        "country": "DE",
        "line1": "Kastanienallee 12",
        "line2": null,
        "postal_code": "10435",
        "state": null
      },
      "customer_email": "jana.kowalczyk@example.org",
      "customer_name": "Jana Kowalczyk",
      "customer_phone": null,
      "customer_shipping": null,
      "customer_tax_exempt": "none",
      "customer_tax_ids": [],
      "default_payment_method": null,
      "default_source": null,
      "default_tax_rates": [],
      "description": null,
      "discount": null,
      "discounts": [],
      "due_date": null,
      "effective_at": {{pstart}},
      "ending_balance": 0,
      "footer": null,
      "from_invoice": null,
      "hosted_invoice_url": "https://invoice.stripe.com/i/acct_1PLq2ZrVendor/test_YWNjdF8xUExxMlpy",
      "invoice_pdf": "https://pay.stripe.com/invoice/acct_1PLq2ZrVendor/test_YWNjdF8xUExxMlpy/pdf?s=ap",
      "issuer": {
        "type": "self"
      },
      "last_finalization_error": null,
      "latest_revision": null,
      "lines": {
        "object": "list",
        "data": [
          {
            "id": "il_1PLq2Zr1cD2eF3g",
            "object": "line_item",
            "amount": 900,
            "amount_excluding_tax": 900,
            "currency": "usd",
            "description": "1 \u00d7 Pro (at $9.00 / month)",
            "discount_amounts": [],
            "discountable": true,
            "discounts": [],
            "invoice": "{{inv}}",
            "livemode": false,
            "metadata": {
              "account_id": "{{acc}}",
              "product_id": "pro-monthly",
              "quantity": "1"
            },
            "period": {
              "end": {{pend}},
              "start": {{pstart}}
            },
            "plan": {
              "id": "price_pro_monthly",
              "object": "plan",
              "active": true,
              "aggregate_usage": null,
              "amount": 900,
              "amount_decimal": "900",
              "billing_scheme": "per_unit",
              "created": 1760000000,
              "currency": "usd",
              "interval": "month",
              "interval_count": 1,
              "livemode": false,
              "metadata": {},
              "nickname": null,
              "product": "prod_PLq2ZrPro",
              "tiers_mode": null,
              "transform_usage": null,
              "trial_period_days": null,
              "usage_type": "licensed"
            },
            "price": {
              "id": "price_pro_monthly",
              "object": "price",
              "active": true,
              "billing_scheme": "per_unit",
              "created": 1760000000,
              "currency": "usd",
              "custom_unit_amount": null,
              "livemode": false,
              "lookup_key": null,
              "metadata": {},
              "nickname": null,
              "product": "prod_PLq2ZrPro",
              "recurring": {
                "aggregate_usage": null,
                "interval": "month",
                "interval_count": 1,
                "trial_period_days": null,
                "usage_type": "licensed"
              },
              "tax_behavior": "unspecified",
              "tiers_mode": null,
              "transform_quantity": null,
              "type": "recurring",
              "unit_amount": 900,
              "unit_amount_decimal": "900"
            },
            "proration": false,
            "proration_details": {
              "credited_items": null
            },
            "quantity": 1,
            "subscription": "{{sub}}",
            "subscription_item": "si_PLq2ZrItem01",
            "tax_amounts": [],
            "tax_rates": [],
            "type": "subscription",
            "unit_amount_excluding_tax": "900"
          }
        ],
        "has_more": false,
        "total_count": 1,
        "url": "/v1/invoices/{{inv}}/lines"
      },
      "livemode": false,
      "metadata": {},
      "next_payment_attempt": null,
      "number": "{{num}}",
      "on_behalf_of": null,
      "paid": true,
      "paid_out_of_band": false,
      "payment_intent": "{{pi}}",
      "payment_settings": {
        "default_mandate": null,
        "payment_method_options": null,
        "payment_method_types": null
      },
      "period_end": {{pstart}},
      "period_start": {{prev}},
      "post_payment_credit_notes_amount": 0,
      "pre_payment_credit_notes_amount": 0,
      "quote": null,
      "receipt_number": null,
      "rendering": null,
      "rendering_options": null,
      "shipping_cost": null,
      "shipping_details": null,
      "starting_balance": 0,
      "statement_descriptor": null,
      "status": "paid",
      "status_transitions": {
        "finalized_at": {{created}},
        "marked_uncollectible_at": null,
        "paid_at": {{created}},
        "voided_at": null
      },
      "subscription": "{{sub}}",
      "subscription_details": {
        "metadata": {
          "account_id": "{{acc}}",
          "product_id": "pro-monthly",
          "quantity": "1"
        }
      },
      "subscription_proration_date": null,
      "subtotal": 900,
      "subtotal_excluding_tax": 900,
      "tax": null,
      "test_clock": null,
      "total": 900,
      "total_discount_amounts": [],
      "total_excluding_tax": 900,
      "total_tax_amounts": [],
      "transfer_data": null,
      "webhooks_delivered_at": {{created}}
    }
  },
  "livemode": false,
  "pending_webhooks": 1,
  "request": {
    "id": null,
    "idempotency_key": null
  },
  "type": "invoice.paid"
}`

const subscriptionCreatedTemplate = `{
  "id": "{{evt}}",
  "object": "event",
  "api_version": "2023-10-16",
  "created": {{created}},
  "data": {
    "object": {
      "id": "{{sub}}",
      "object": "subscription",
      "application": null,
      "application_fee_percent": null,
      "automatic_tax": {
        "enabled": false,
        "liability": null
      },
      "billing_cycle_anchor": {{pstart}},
      "billing_cycle_anchor_config": null,
      "billing_thresholds": null,
      "cancel_at": null,
      "cancel_at_period_end": false,
      "canceled_at": null,
      "cancellation_details": {
        "comment": null,
        "feedback": null,
        "reason": null
      },
      "collection_method": "charge_automatically",
      "created": {{pstart}},
      "currency": "usd",
      "current_period_end": {{pend}},
      "current_period_start": {{pstart}},
      "customer": "{{cus}}",
      "days_until_due": null,
      "default_payment_method": "pm_1PLq2ZrCard0aB1cD2eF3gH",
      "default_source": null,
      "default_tax_rates": [],
      "description": null,
      "discount": null,
      "discounts": [],
      "ended_at": null,
      "items": {
        "object": "list",
        "data": [
          {
            "id": "si_PLq2ZrItem01",
            "object": "subscription_item",
            "billing_thresholds": null,
            "created": {{pstart}},
            "discounts": [],
            "metadata": {},
            "plan": {
              "id": "price_pro_monthly",
              "object": "plan",
              "active": true,
              "aggregate_usage": null,
              "amount": 900,
              "amount_decimal": "900",
              "billing_scheme": "per_unit",
              "created": 1760000000,
              "currency": "usd",
              "interval": "month",
              "interval_count": 1,
              "livemode": false,
              "metadata": {},
              "nickname": null,
              "product": "prod_PLq2ZrPro",
              "tiers_mode": null,
              "transform_usage": null,
              "trial_period_days": null,
              "usage_type": "licensed"
            },
            "price": {
              "id": "price_pro_monthly",
              "object": "price",
              "active": true,
              "billing_scheme": "per_unit",
              "created": 1760000000,
              "currency": "usd",
              "custom_unit_amount": null,
              "livemode": false,
              "lookup_key": null,
              "metadata": {},
              "nickname": null,
              "product": "prod_PLq2ZrPro",
              "recurring": {
                "aggregate_usage": null,
                "interval": "month",
                "interval_count": 1,
                "trial_period_days": null,
                "usage_type": "licensed"
              },
              "tax_behavior": "unspecified",
              "tiers_mode": null,
              "transform_quantity": null,
              "type": "recurring",
              "unit_amount": 900,
              "unit_amount_decimal": "900"
            },
            "quantity": 1,
            "subscription": "{{sub}}",
            "tax_rates": []
          }
        ],
        "has_more": false,
        "total_count": 1,
        "url": "/v1/subscription_items?subscription={{sub}}"
      },
      "latest_invoice": "{{inv}}",
      "livemode": false,
      "metadata": {
        "account_id": "{{acc}}",
        "product_id": "pro-monthly",
        "quantity": "1"
      },
      "next_pending_invoice_item_invoice": null,
      "on_behalf_of": null,
      "pause_collection": null,
      "payment_settings": {
        "payment_method_options": null,
        "payment_method_types": null,
        "save_default_payment_method": "off"
      },
      "pending_invoice_item_interval": null,
      "pending_setup_intent": null,
      "pending_update": null,
      "plan": {
        "id": "price_pro_monthly",
        "object": "plan",
        "active": true,
        "aggregate_usage": null,
        "amount": 900,
        "amount_decimal": "900",
        "billing_scheme": "per_unit",
        "created": 1760000000,
        "currency": "usd",
        "interval": "month",
        "interval_count": 1,
        "livemode": false,
        "metadata": {},
        "nickname": null,
        "product": "prod_PLq2ZrPro",
        "tiers_mode": null,
        "transform_usage": null,
        "trial_period_days": null,
        "usage_type": "licensed"
      },
      "quantity": 1,
      "schedule": null,
      "start_date": {{pstart}},
      "status": "active",
      "test_clock": null,
      "transfer_data": null,
      "trial_end": null,
      "trial_settings": {
        "end_behavior": {
          "missing_payment_method": "create_invoice"
        }
      },
      "trial_start": null
    }
  },
  "livemode": false,
  "pending_webhooks": 1,
  "request": {
    "id": null,
    "idempotency_key": null
  },
  "type": "customer.subscription.created"
}`
