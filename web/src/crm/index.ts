// The CRM's parts of the desk: the customer card in an offer and the customer panel beside a
// contact (the disposition picker is part of the wrap-up itself: it goes with the end).
import { provide } from "../slots";
import { ContactCustomer, OfferCustomer } from "./Customer";

provide("offer.customer", OfferCustomer);
provide("contact.customer", ContactCustomer);
