/*
 * Community Payback planning map: the zone's outline, the welfare facilities' catchments (green where toilets, water
 * and shelter are all within reach, orange where only some are; hatched where only limited-hours facilities serve),
 * the facilities, candidate and active sites coloured by their check, residents' overgrowth reports offered as
 * sites, and the ranked gaps. Everything comes from the page's own JSON (the same data as the tables below the map,
 * at the same settings). Selecting a place on the map checks it with POST /api/zones/<zone>/cp-check and shows the
 * answer under the map and in a popup, with a form to add it as a candidate site.
 *
 * Plain ES5 on top of Leaflet. GeoJSON is [lon, lat]; Leaflet takes [lat, lon] (L.geoJSON converts; the code says
 * which it means elsewhere). Every text from the data reaches the page through textContent, never innerHTML; the
 * words come translated from #cp-strings. Leaflet puts a string popup or tooltip in with innerHTML, so every
 * popup and tooltip here is given an element.
 */
/* global L */
(function () {
  'use strict';

  var container = document.getElementById('cp-map');
  var panel = document.getElementById('cp-map-panel');
  if (!container || !panel || typeof L === 'undefined' || !window.fetch) { return; }
  var strings = JSON.parse(document.getElementById('cp-strings').textContent);
  var labels = JSON.parse(document.getElementById('cp-labels').textContent);
  var status = document.getElementById('cp-map-status');
  var answerBox = document.getElementById('cp-answer');
  var csrf = container.getAttribute('data-csrf-token');
  var canWrite = container.getAttribute('data-can-write') === 'true';
  var LANGUAGE = document.documentElement.lang || 'en-GB';
  var COLOURS = {full: '#1a9850', partial: '#e08214', facility: '#00838f', ok: '#1a9850', missing: '#c51b7d',
                 closed: '#737373', offer: '#6a3d9a', gap: '#1d3557', zone: '#1d3557'};
  var settings = null;

  panel.hidden = false;
  status.textContent = strings.loading;
  var map = L.map(container, {scrollWheelZoom: false});
  L.tileLayer(container.getAttribute('data-tiles-url'), {
    attribution: container.getAttribute('data-tiles-attribution'), maxZoom: 19
  }).addTo(map);
  map.setView([52.7, -1.3], 13);
  // While the map pans (a popup opening near the edge pans it into view) things on it are not where they will be:
  // data-moving says so, for anything (a test, an assistive tool) that acts on positions.
  map.on('movestart zoomstart', function () { container.setAttribute('data-moving', 'true'); });
  map.on('moveend zoomend', function () { container.removeAttribute('data-moving'); });

  // -- small helpers ---------------------------------------------------------------------------------------------

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, key) { return key in values ? values[key] : whole; });
  }

  function number(value, digits) {
    return Number(value).toLocaleString(LANGUAGE, {maximumFractionDigits: digits, minimumFractionDigits: digits});
  }

  function element(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (className) { node.className = className; }
    return node;
  }

  function offersText(offers) {
    if (!offers || !offers.length) { return strings.nothing; }
    return offers.map(function (offer) { return labels.offers[offer] || offer; }).join(', ');
  }

  function row(table, label, value) {
    var tr = document.createElement('tr');
    tr.appendChild(element('th', label));
    tr.appendChild(element('td', value));
    table.appendChild(tr);
  }

  function hidden(form, name, value) {
    var input = document.createElement('input');
    input.type = 'hidden';
    input.name = name;
    input.value = value;
    form.appendChild(input);
  }

  function postForm(fields) {
    var form = document.createElement('form');
    form.method = 'post';
    form.action = container.getAttribute('data-add-url');
    hidden(form, 'csrf_token', csrf);
    Object.keys(fields).forEach(function (name) { hidden(form, name, fields[name]); });
    return form;
  }

  function getJSON(url) {
    return fetch(url, {headers: {Accept: 'application/json'}, credentials: 'same-origin'}).then(function (r) {
      if (!r.ok) { throw new Error(url + ': ' + r.status); }
      return r.json();
    });
  }

  // -- what a check says -----------------------------------------------------------------------------------------

  function verdict(check) {
    var minutes = number(settings.minutes, 0);
    if (check.within_reach) { return format(strings.within, {minutes: minutes}); }
    return format(strings.missing, {missing: offersText(check.missing), minutes: minutes});
  }

  function checkDetails(check) {
    var box = document.createElement('div');
    var kind = check.within_reach ? 'verdict verdict--ok' : 'verdict verdict--missing';
    box.appendChild(element('p', verdict(check), kind));
    if (check.within_reach && check.limited_hours) { box.appendChild(element('p', strings.limited)); }
    box.appendChild(element('p', strings.nearest, 'cp-subheading'));
    if (!check.nearest.length) {
      box.appendChild(element('p', strings.none));
      return box;
    }
    var list = document.createElement('ul');
    check.nearest.forEach(function (item) {
      var minutes = item.minutes === null ? '–' : format(strings.minutesAway, {minutes: number(item.minutes, 1)});
      list.appendChild(element('li', item.name + ' – ' + minutes + ' – ' + offersText(item.offers)));
    });
    box.appendChild(list);
    return box;
  }

  // -- popups ----------------------------------------------------------------------------------------------------

  function facilityPopup(facility) {
    var box = document.createElement('div');
    box.appendChild(element('strong', facility.name));
    box.appendChild(element('p', strings.facility));
    var table = document.createElement('table');
    row(table, strings.offers, offersText(facility.offers));
    row(table, strings.hours, facility.always_open ? strings.alwaysOpen
      : (facility.opening_hours || strings.hoursUnknown));
    box.appendChild(table);
    return box;
  }

  function sitePopup(site) {
    var box = document.createElement('div');
    box.appendChild(element('strong', site.name));
    var table = document.createElement('table');
    row(table, strings.work, site.kind_label);
    row(table, strings.status, site.status_label);
    box.appendChild(table);
    if (site.check) { box.appendChild(checkDetails(site.check)); }
    return box;
  }

  function offerPopup(offer) {
    var box = document.createElement('div');
    box.appendChild(element('strong', strings.offer + ' ' + (offer.ref || offer.id)));
    if (offer.description) { box.appendChild(element('p', offer.description, 'cp-description')); }
    if (offer.location_text) { box.appendChild(element('p', offer.location_text)); }
    box.appendChild(checkDetails(offer.check));
    if (canWrite) {
      var form = postForm({report: offer.ref || offer.id});
      var button = element('button', strings.addReport);
      button.type = 'submit';
      form.appendChild(button);
      box.appendChild(form);
    }
    return box;
  }

  var kindCounter = 0;

  function addHereForm(latlng) {
    var form = postForm({lon: latlng.lng.toFixed(7), lat: latlng.lat.toFixed(7)});
    form.className = 'cp-add-here';
    kindCounter += 1;
    form.appendChild(element('p', strings.addHere, 'cp-subheading'));
    var nameId = 'cp-new-name-' + kindCounter;
    var kindId = 'cp-new-kind-' + kindCounter;
    var nameLabel = element('label', strings.name);
    nameLabel.htmlFor = nameId;
    var name = document.createElement('input');
    name.id = nameId;
    name.name = 'name';
    name.required = true;
    name.maxLength = 200;
    var kindLabel = element('label', strings.kind);
    kindLabel.htmlFor = kindId;
    var kind = document.createElement('select');
    kind.id = kindId;
    kind.name = 'kind';
    Object.keys(labels.kinds).forEach(function (id) {
      var option = element('option', labels.kinds[id]);
      option.value = id;
      kind.appendChild(option);
    });
    var button = element('button', strings.addHere);
    button.type = 'submit';
    [nameLabel, name, kindLabel, kind, button].forEach(function (node) { form.appendChild(node); });
    return form;
  }

  // -- layers ----------------------------------------------------------------------------------------------------

  function catchmentStyle(feature) {
    var p = feature.properties;
    var full = settings.required.every(function (offer) { return p.offers.indexOf(offer) !== -1; });
    var colour = full ? COLOURS.full : COLOURS.partial;
    return {color: colour, weight: 1.5, dashArray: p.limited_hours ? '5 4' : null,
            fillOpacity: p.limited_hours ? 1 : 0.25,
            fillColor: p.limited_hours ? 'url(#cp-hatch-' + (full ? 'full' : 'partial') + ')' : colour,
            interactive: false,
            className: 'cp-catchment cp-catchment--' + (full ? 'full' : 'partial')
              + (p.limited_hours ? ' cp-catchment--limited' : '')};
  }

  function siteClass(site) {
    if (!site.check) { return 'closed'; }
    return site.check.within_reach ? 'ok' : 'missing';
  }

  function drawSite(site) {
    var result = siteClass(site);
    var options = {color: '#ffffff', weight: 2, fillColor: COLOURS[result], fillOpacity: 0.9, radius: 9,
                   bubblingMouseEvents: false, className: 'cp-site cp-site--' + result};
    var layer;
    if (site.geometry.type === 'Point') {
      // GeoJSON [lon, lat] -> Leaflet [lat, lon]
      layer = L.circleMarker([site.geometry.coordinates[1], site.geometry.coordinates[0]], options);
    } else {
      layer = L.geoJSON(site.geometry, {style: {color: COLOURS[result], weight: 3, fillColor: COLOURS[result],
        fillOpacity: 0.35, bubblingMouseEvents: false, className: 'cp-site cp-site--area cp-site--' + result}});
    }
    layer.bindPopup(sitePopup(site));
    layer.bindTooltip(element('span', site.name));
    return layer;
  }

  function drawOffer(offer) {
    var layer = L.circleMarker([offer.geometry.coordinates[1], offer.geometry.coordinates[0]], {
      color: COLOURS.offer, weight: 2, dashArray: '3 2',
      fillColor: offer.check.within_reach ? COLOURS.ok : COLOURS.missing,
      fillOpacity: 0.6, radius: 7, bubblingMouseEvents: false, className: 'cp-offer'});
    layer.bindPopup(offerPopup(offer));
    layer.bindTooltip(element('span', offer.ref || offer.id));
    return layer;
  }

  function drawFacility(facility) {
    var layer = L.circleMarker([facility.lat, facility.lon], {
      color: '#ffffff', weight: 2, fillColor: COLOURS.facility, fillOpacity: 1, radius: 8, bubblingMouseEvents: false,
      className: 'cp-facility'});
    layer.bindPopup(facilityPopup(facility));
    layer.bindTooltip(element('span', facility.name));
    return layer;
  }

  function drawGap(gap) {
    var label = format(strings.gap, {rank: gap.rank, count: gap.unlocks});
    var icon = element('span', String(gap.rank), 'cp-gap-number');
    var marker = L.marker([gap.lat, gap.lon], {
      icon: L.divIcon({className: 'cp-gap', html: icon, iconSize: [30, 30], iconAnchor: [15, 15]}),
      title: label, alt: label, bubblingMouseEvents: false, keyboard: true});
    var box = document.createElement('div');
    box.appendChild(element('strong', label));
    var list = document.createElement('ul');
    gap.names.forEach(function (name) { list.appendChild(element('li', name)); });
    box.appendChild(list);
    marker.bindPopup(box);
    return marker;
  }

  // -- checking a clicked place ----------------------------------------------------------------------------------

  function showAnswer(latlng, check) {
    while (answerBox.firstChild) { answerBox.removeChild(answerBox.firstChild); }
    answerBox.appendChild(element('h3', strings.answerHeading));
    answerBox.appendChild(element('p', number(latlng.lat, 5) + ', ' + number(latlng.lng, 5), 'cp-place'));
    answerBox.appendChild(checkDetails(check));
    answerBox.hidden = false;
    var popup = document.createElement('div');
    popup.className = 'cp-check-popup';
    popup.appendChild(checkDetails(check));
    if (canWrite) { popup.appendChild(addHereForm(latlng)); }
    L.popup({maxWidth: 320}).setLatLng(latlng).setContent(popup).openOn(map);
  }

  function showFailure(message) {
    while (answerBox.firstChild) { answerBox.removeChild(answerBox.firstChild); }
    answerBox.appendChild(element('p', format(strings.checkFailed, {message: message}), 'verdict verdict--missing'));
    answerBox.hidden = false;
    container.setAttribute('data-checked', 'failed');
  }

  function checkPlace(event) {
    var latlng = event.latlng;
    status.textContent = strings.checking;
    var body = {geometry: {type: 'Point', coordinates: [Number(latlng.lng.toFixed(7)), Number(latlng.lat.toFixed(7))]},
                minutes: settings.minutes, speed_kmh: settings.speed_kmh, detour: settings.detour};
    fetch(container.getAttribute('data-check-url'), {
      method: 'POST', credentials: 'same-origin', body: JSON.stringify(body),
      headers: {'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': csrf}
    }).then(function (response) {
      return response.json().then(function (answer) { return {ok: response.ok, answer: answer}; });
    }).then(function (result) {
      status.textContent = '';
      if (!result.ok) {
        showFailure(result.answer && result.answer.error ? result.answer.error.message : '');
        return;
      }
      showAnswer(latlng, result.answer);
      container.setAttribute('data-checked', result.answer.within_reach ? 'within' : 'missing');
    }).catch(function (error) {
      status.textContent = '';
      showFailure(String(error.message || error));
    });
  }

  // -- drawing everything ----------------------------------------------------------------------------------------

  Promise.all([getJSON(container.getAttribute('data-url')), getJSON(container.getAttribute('data-zone-url'))])
    .then(function (results) {
      var data = results[0];
      settings = data.settings;
      var zone = L.geoJSON(results[1], {style: {color: COLOURS.zone, weight: 2, dashArray: '6 4', fill: false},
                                        interactive: false}).addTo(map);
      L.geoJSON(data.catchments, {style: catchmentStyle}).addTo(map);
      data.facilities.forEach(function (facility) { drawFacility(facility).addTo(map); });
      data.offers.forEach(function (offer) { drawOffer(offer).addTo(map); });
      data.sites.forEach(function (site) { drawSite(site).addTo(map); });
      data.gaps.forEach(function (gap) { drawGap(gap).addTo(map); });
      map.on('click', checkPlace);
      var bounds = zone.getBounds();
      // Not animated: the page is ready (and its markers where they will stay) once this returns.
      if (bounds.isValid()) { map.fitBounds(bounds, {padding: [10, 10], animate: false}); }
      status.textContent = format(strings.shown, {facilities: data.facilities.length, sites: data.sites.length,
                                                  offers: data.offers.length, gaps: data.gaps.length});
      container.setAttribute('data-ready', 'true');
    }).catch(function () {
      status.textContent = strings.failed;
    });
}());
